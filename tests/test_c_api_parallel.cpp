// Parallel generation (lagvk_model_params.n_parallel) through the shared library, on the shipped multihop
// model: calls from several threads at once answer as the same calls do one at a time on a model loaded
// without slots (greedy); each slot keeps its cache, so two agents taking turns each reuse their own
// transcript; lagvk_cancel stops every running call and a callback's stop only its own; other calls run
// between the batched passes; bad slot counts are refused.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lagvk/lagvk.h"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

const std::string kModel = std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf";
const std::vector<std::string> kQuestions = {
    "What is the mayor of the capital of the country of Calxar?",
    "Who founded the company that makes the Vondrel engine?",
    "What river flows through the birthplace of Ilsa Marrow?",
    "Which language is spoken in the country whose capital is Dunhallow?",
    "What is the currency of the country of Peltria?",
    "Who directed the film that won the Orvane prize?"};

struct Answer {
  lagvk_status status = LAGVK_OK;
  std::string text, error;
  std::uint32_t prompt_tokens = 0, cached_tokens = 0;
  std::size_t streamed = 0;
};

lagvk_model* load(std::uint32_t parallel) {
  lagvk_model_params mp = lagvk_model_params_default();
  mp.n_parallel = parallel;
  lagvk_model* m = nullptr;
  EXPECT_EQ(lagvk_model_load(kModel.c_str(), &mp, &m), LAGVK_OK) << lagvk_last_error();
  return m;
}

struct StreamState {
  std::size_t tokens = 0;
  std::size_t stop_after = 0;             ///< 0: never stop
  std::atomic<int>* streaming = nullptr;  ///< counts calls that have streamed a token
};

int count_tokens(void* user_data, int32_t, const char*, size_t) {
  auto* s = static_cast<StreamState*>(user_data);
  if (++s->tokens == 1 && s->streaming) ++*s->streaming;
  return s->stop_after != 0 && s->tokens >= s->stop_after ? 1 : 0;
}

Answer chat(lagvk_model* model, const std::vector<lagvk_chat_message>& messages, std::uint32_t max_tokens,
            bool reuse = false, std::size_t stop_after = 0, std::atomic<int>* streaming = nullptr) {
  lagvk_generate_params p = lagvk_generate_params_default();
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.reuse_prefix = reuse ? 1 : 0;
  StreamState stream{0, stop_after, streaming};
  p.on_token = count_tokens;
  p.user_data = &stream;
  const lagvk_chat_params cp = lagvk_chat_params_default();
  lagvk_completion* c = nullptr;
  Answer a;
  a.status = lagvk_chat_ex(model, messages.data(), messages.size(), &cp, &p, &c);
  a.streamed = stream.tokens;
  if (a.status != LAGVK_OK) {
    a.error = lagvk_last_error();
    return a;
  }
  const lagvk_completion_info* i = lagvk_completion_get(c);
  a.text.assign(i->text, i->text_len);
  a.prompt_tokens = i->prompt_tokens;
  a.cached_tokens = i->cached_tokens;
  lagvk_completion_free(c);
  return a;
}

Answer ask(lagvk_model* model, const std::string& question, std::uint32_t max_tokens, bool reuse = false,
           std::size_t stop_after = 0, std::atomic<int>* streaming = nullptr) {
  return chat(model, {{"user", question.c_str(), nullptr, nullptr}}, max_tokens, reuse, stop_after,
              streaming);
}

TEST(CApiParallel, ConcurrentCallsAnswerAsCallsOneAtATime) {
  std::vector<Answer> alone;
  {
    lagvk_model* serial = load(1);
    ASSERT_NE(serial, nullptr);
    for (std::size_t i = 0; i < kQuestions.size(); ++i)
      alone.push_back(ask(serial, kQuestions[i], 8 + 3 * i));
    lagvk_model_free(serial);
  }
  lagvk_model* model = load(4);
  ASSERT_NE(model, nullptr);
  // Six calls on four slots: two wait for a slot; lengths differ, so calls join and leave between passes.
  std::vector<Answer> together(kQuestions.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kQuestions.size(); ++i)
    threads.emplace_back([&, i] { together[i] = ask(model, kQuestions[i], 8 + 3 * i); });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < kQuestions.size(); ++i) {
    ASSERT_EQ(together[i].status, LAGVK_OK) << together[i].error;
    EXPECT_EQ(together[i].text, alone[i].text) << kQuestions[i];
    EXPECT_EQ(together[i].prompt_tokens, alone[i].prompt_tokens);
    EXPECT_GT(together[i].streamed, 0u);
  }
  lagvk_model_free(model);
}

TEST(CApiParallel, EachSlotKeepsItsCacheForTheNextStepOfItsAgent) {
  lagvk_model* model = load(2);
  ASSERT_NE(model, nullptr);
  // Two agents take turns: each step's prompt is its own transcript plus a new message, so each finds its
  // own earlier prompt in a slot, though the other agent ran in between.
  const std::vector<std::string> tools = {"Calxar country Mormund", "Vondrel maker Arkwell"};
  lagvk_model* serial = load(1);
  std::vector<std::vector<std::string>> texts(2);
  std::vector<Answer> first(2);
  for (int a = 0; a < 2; ++a) first[a] = ask(model, kQuestions[a], 16, true);
  for (int a = 0; a < 2; ++a) {
    ASSERT_EQ(first[a].status, LAGVK_OK) << first[a].error;
    const std::vector<lagvk_chat_message> step = {{"user", kQuestions[a].c_str(), nullptr, nullptr},
                                                  {"assistant", first[a].text.c_str(), nullptr, nullptr},
                                                  {"tool", tools[a].c_str(), nullptr, nullptr}};
    const Answer next = chat(model, step, 8, true);
    ASSERT_EQ(next.status, LAGVK_OK) << next.error;
    EXPECT_GE(next.cached_tokens, first[a].prompt_tokens) << "agent " << a << " reused its own slot";
    EXPECT_LT(next.cached_tokens, next.prompt_tokens);
    // Reuse changes no answer: the same step from scratch on a model without slots.
    EXPECT_EQ(chat(serial, step, 8).text, next.text);
  }
  lagvk_model_free(serial);
  // Without reuse_prefix nothing is taken from a slot.
  EXPECT_EQ(ask(model, kQuestions[0], 4).cached_tokens, 0u);
  lagvk_model_free(model);
}

TEST(CApiParallel, CancelStopsEveryRunningCallAndACallbackOnlyItsOwn) {
  lagvk_model* model = load(3);
  ASSERT_NE(model, nullptr);
  {
    // One call's callback stops it after 3 tokens; the others run to their end.
    std::vector<Answer> got(3);
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&, i] { got[i] = ask(model, kQuestions[i], 20, false, i == 1 ? 3 : 0); });
    for (auto& t : threads) t.join();
    EXPECT_EQ(got[1].status, LAGVK_ERROR_CANCELLED);
    EXPECT_EQ(got[1].streamed, 3u);
    EXPECT_EQ(got[0].status, LAGVK_OK) << got[0].error;
    EXPECT_EQ(got[2].status, LAGVK_OK) << got[2].error;
  }
  {
    // lagvk_cancel from another thread once every call has streamed a token: all of them stop.
    std::vector<Answer> got(3);
    std::vector<std::thread> threads;
    std::atomic<int> streaming{0};
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&, i] { got[i] = ask(model, kQuestions[i], 4000, false, 0, &streaming); });
    while (streaming.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    lagvk_cancel(model);
    for (auto& t : threads) t.join();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i].status, LAGVK_ERROR_CANCELLED) << i << ": " << got[i].text.size() << " bytes";
      EXPECT_NE(got[i].error.find("cancelled"), std::string::npos) << got[i].error;
    }
  }
  // A cancel is for the calls running then: the next call answers.
  EXPECT_EQ(ask(model, kQuestions[0], 4).status, LAGVK_OK);
  lagvk_model_free(model);
}

struct LongGeneration {
  std::atomic<int> streamed{0};
  std::atomic<bool> stop{false};
};

int stream_until_told(void* user_data, int32_t, const char*, size_t) {
  auto* g = static_cast<LongGeneration*>(user_data);
  ++g->streamed;
  return g->stop.load() ? 1 : 0;
}

TEST(CApiParallel, OtherCallsRunBetweenPassesOfALongGeneration) {
  lagvk_model* model = load(2);
  ASSERT_NE(model, nullptr);
  const std::uint32_t context = lagvk_model_get_info(model)->context_tokens;
  // A generation that runs until this test stops it (or fills its context): its end cannot race the
  // tokenizer however fast the device decodes.
  LongGeneration generation;
  std::atomic<bool> done{false};
  lagvk_status status = LAGVK_OK;
  std::string error;
  std::thread generating([&] {
    lagvk_generate_params p = lagvk_generate_params_default();
    p.temperature = 0;
    p.ignore_eos = 1;
    p.max_tokens = context / 2;
    p.on_token = stream_until_told;
    p.user_data = &generation;
    const lagvk_chat_message message = {"user", kQuestions[0].c_str(), nullptr, nullptr};
    const lagvk_chat_params cp = lagvk_chat_params_default();
    lagvk_completion* c = nullptr;
    status = lagvk_chat_ex(model, &message, 1, &cp, &p, &c);
    if (status != LAGVK_OK) error = lagvk_last_error();
    if (c) lagvk_completion_free(c);
    done = true;
  });
  while (generation.streamed.load() == 0 && !done.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Tokenizing needs the model's lock, which the generation does not hold between its passes.
  int32_t ids[64];
  size_t n = 0;
  const lagvk_status tokenized = lagvk_tokenize(model, "a short text", 12, 1, 0, ids, 64, &n);
  const bool finished_first = done.load();
  generation.stop = true;
  generating.join();
  ASSERT_EQ(tokenized, LAGVK_OK) << lagvk_last_error();
  EXPECT_GT(n, 0u);
  EXPECT_FALSE(finished_first) << "the tokenizer waited for the whole generation ("
                               << generation.streamed.load() << " tokens)";
  // Stopped by its callback, as the API says.
  EXPECT_EQ(status, LAGVK_ERROR_CANCELLED) << error;
  lagvk_model_free(model);
}

/// A store of `model` in dir holding the multihop suite's first `n` gold traces; their ids in `ids`.
lagvk_store* store_with_logs(lagvk_model* model, const std::string& dir, std::size_t n,
                             std::vector<std::uint64_t>& ids) {
  lagvk_store_params sp = lagvk_store_params_default();
  sp.create = 1;
  lagvk_store* store = nullptr;
  EXPECT_EQ(lagvk_store_open(model, dir.c_str(), &sp, &store), LAGVK_OK) << lagvk_last_error();
  std::ifstream in(std::string(LAGVK_SOURCE_DIR) + "/assets/multihop/seen-gold-traces.jsonl");
  for (std::string line; store && ids.size() < n && std::getline(in, line);) {
    std::uint64_t id = 0;
    EXPECT_EQ(lagvk_store_add_trace(store, line.data(), line.size(), LAGVK_SELECT_LAST, 0, &id), LAGVK_OK)
        << lagvk_last_error();
    ids.push_back(id);
  }
  return store;
}

Answer ask_with_logs(lagvk_store* store, const std::string& question, lagvk_log_mode mode,
                     const std::vector<std::uint64_t>& ids) {
  lagvk_ask_params p = lagvk_ask_params_default();
  p.mode = mode;
  p.log_ids = ids.data();
  p.n_log_ids = ids.size();
  p.generate.max_tokens = 16;
  lagvk_completion* c = nullptr;
  Answer a;
  a.status = lagvk_ask(store, question.c_str(), &p, &c);
  if (a.status != LAGVK_OK) {
    a.error = lagvk_last_error();
    return a;
  }
  const lagvk_completion_info* i = lagvk_completion_get(c);
  a.text.assign(i->text, i->text_len);
  a.prompt_tokens = i->prompt_tokens;
  lagvk_completion_free(c);
  return a;
}

TEST(CApiParallel, AsksWithLogsDecodeInTheSharedPassesAndAnswerAsAlone) {
  test::ScratchDir dir{"c_api_parallel_lag"};
  std::vector<Answer> alone;
  std::vector<std::uint64_t> ids;
  const std::vector<lagvk_log_mode> modes = {LAGVK_LOGS_KV, LAGVK_LOGS_TEXT, LAGVK_LOGS_KV};
  {
    lagvk_model* serial = load(1);
    lagvk_store* store = store_with_logs(serial, (dir.path() / "serial").string(), 3, ids);
    ASSERT_NE(store, nullptr);
    for (std::size_t i = 0; i < modes.size(); ++i)
      alone.push_back(ask_with_logs(store, kQuestions[i], modes[i], {ids[i], ids[(i + 1) % 3]}));
    lagvk_store_close(store);
    lagvk_model_free(serial);
  }
  lagvk_model* model = load(2);
  std::vector<std::uint64_t> pids;
  lagvk_store* store = store_with_logs(model, (dir.path() / "parallel").string(), 3, pids);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(pids, ids);
  // Three asks with logs and two plain chats at once: the asks place their logs one at a time, then
  // decode beside the chats (a third sequence beyond the two slots: the asks bring their own).
  std::vector<Answer> asked(modes.size()), chatted(2);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < modes.size(); ++i)
    threads.emplace_back([&, i] {
      asked[i] = ask_with_logs(store, kQuestions[i], modes[i], {ids[i], ids[(i + 1) % 3]});
    });
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] { chatted[i] = ask(model, kQuestions[4 + i], 24); });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < modes.size(); ++i) {
    ASSERT_EQ(asked[i].status, LAGVK_OK) << asked[i].error;
    EXPECT_EQ(asked[i].text, alone[i].text) << kQuestions[i];
    EXPECT_EQ(asked[i].prompt_tokens, alone[i].prompt_tokens);
  }
  for (const auto& c : chatted) EXPECT_EQ(c.status, LAGVK_OK) << c.error;
  lagvk_store_close(store);
  lagvk_model_free(model);
}

TEST(CApiParallel, BadSlotCountsAndOverlongPromptsAreRefused) {
  lagvk_model_params mp = lagvk_model_params_default();
  lagvk_model* m = nullptr;
  mp.n_parallel = 0;
  EXPECT_EQ(lagvk_model_load(kModel.c_str(), &mp, &m), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(lagvk_last_error()).find("n_parallel"), std::string::npos);
  mp.n_parallel = 8;
  mp.max_batch = 4;
  EXPECT_EQ(lagvk_model_load(kModel.c_str(), &mp, &m), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(lagvk_last_error()).find("max_batch"), std::string::npos);
  EXPECT_EQ(m, nullptr);

  mp = lagvk_model_params_default();
  mp.n_parallel = 2;
  mp.context_tokens = 64;
  ASSERT_EQ(lagvk_model_load(kModel.c_str(), &mp, &m), LAGVK_OK) << lagvk_last_error();
  std::string longer;
  for (int i = 0; i < 40; ++i) longer += "word ";
  const Answer over = ask(m, longer, 4);
  EXPECT_EQ(over.status, LAGVK_ERROR_CONTEXT_FULL) << over.error;
  EXPECT_EQ(ask(m, kQuestions[0], 4).status, LAGVK_OK);  // the slots still serve
  lagvk_model_free(m);
}

}  // namespace
}  // namespace lagvk::test
