// The C API's engine half (include/lagvk/lagvk.h, api/): devices, models, tokens, chat templates,
// generation with streaming and cancellation, embeddings. Each function is compared with the engine's own
// C++ path (or the lagvk CLI) on a small random model, and each misuse (NULL pointers, freed and
// wrong-kind handles, small buffers, missing or damaged files, a device that is not there, a prompt
// longer than the context) must return its exact status with a message, never crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/text_embedding.hpp"
#include "engine/vk/context.hpp"
#include "lagvk/lagvk.h"
#include "tests/support/cli.hpp"
#include "tests/support/models.hpp"
#include "tests/support/validation.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kContext = 512;
const std::string kPrompt = "the glass harbor";

std::string temp_path(const std::string& name) {
  return (fs::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()))).string();
}

lagvk_model_params params_with_context(std::uint32_t context) {
  lagvk_model_params p = lagvk_model_params_default();
  p.context_tokens = context;
  return p;
}

lagvk_generate_params greedy(std::uint32_t max_tokens) {
  lagvk_generate_params g = lagvk_generate_params_default();
  g.temperature = 0.0f;
  g.max_tokens = max_tokens;
  return g;
}

std::string text_of(const lagvk_completion* c) {
  const lagvk_completion_info* info = lagvk_completion_get(c);
  return std::string(info->text, info->text_len);
}

std::vector<std::int32_t> tokens_of(const lagvk_completion* c) {
  const lagvk_completion_info* info = lagvk_completion_get(c);
  return {info->tokens, info->tokens + info->n_tokens};
}

/// The status, and that a failure left a message for this thread.
::testing::AssertionResult fails_with(lagvk_status got, lagvk_status want) {
  if (got != want)
    return ::testing::AssertionFailure()
           << lagvk_status_name(got) << " (" << lagvk_last_error() << "), not " << lagvk_status_name(want);
  if (want != LAGVK_OK && std::string(lagvk_last_error()).empty())
    return ::testing::AssertionFailure() << lagvk_status_name(got) << " without a message";
  return ::testing::AssertionSuccess();
}

/// One model for the suite (loading is the slow part); tests that free or break models load their own.
class CApiModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = temp_path("c_api_model") + ".gguf";
    make_random_model(small_model_spec(GgmlType::q8_0, 31)).write(path_);
    const lagvk_model_params p = params_with_context(kContext);
    ASSERT_EQ(lagvk_model_load(path_.c_str(), &p, &model_), LAGVK_OK) << lagvk_last_error();
  }
  static void TearDownTestSuite() {
    lagvk_model_free(model_);
    model_ = nullptr;
    fs::remove(path_);
  }

  /// Greedy text of kPrompt through the API.
  static lagvk_completion* generate(const lagvk_generate_params& g, lagvk_status want = LAGVK_OK) {
    lagvk_completion* c = nullptr;
    EXPECT_TRUE(fails_with(lagvk_generate(model_, kPrompt.c_str(), &g, &c), want));
    return c;
  }

  static std::string path_;
  static lagvk_model* model_;
};
std::string CApiModel::path_;
lagvk_model* CApiModel::model_ = nullptr;

TEST_F(CApiModel, DefaultsAreTheEngines) {
  const LoadOptions load{};
  const lagvk_model_params p = lagvk_model_params_default();
  EXPECT_EQ(p.device, load.device);
  EXPECT_EQ(p.context_tokens, load.context);
  EXPECT_EQ(p.page_tokens, load.page_tokens);
  EXPECT_EQ(p.max_batch, load.max_batch);
  EXPECT_EQ(p.progress, nullptr);
  const GenerateOptions gen{};
  const lagvk_generate_params g = lagvk_generate_params_default();
  EXPECT_EQ(g.max_tokens, gen.max_tokens);
  EXPECT_EQ(g.temperature, gen.sampling.temperature);
  EXPECT_EQ(g.top_k, gen.sampling.top_k);
  EXPECT_EQ(g.top_p, gen.sampling.top_p);
  EXPECT_EQ(g.min_p, gen.sampling.min_p);
  EXPECT_EQ(g.repeat_penalty, gen.sampling.repeat_penalty);
  EXPECT_EQ(g.seed, gen.sampling.seed);
  EXPECT_EQ(g.ignore_eos, gen.stop_at_end_of_generation ? 0 : 1);
  EXPECT_EQ(g.n_stop, 0u);
  EXPECT_EQ(g.on_token, nullptr);
}

TEST_F(CApiModel, DevicesAreTheEnginesWithItsDefaultChoice) {
  lagvk_device_list* list = nullptr;
  ASSERT_EQ(lagvk_devices(&list), LAGVK_OK) << lagvk_last_error();
  const vk::Instance instance(vk::instance_options_from_env());
  const auto devices = vk::enumerate_devices(instance);
  ASSERT_EQ(lagvk_device_list_size(list), devices.size());
  const std::size_t chosen = vk::choose_device(devices);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const lagvk_device_info* d = lagvk_device_list_get(list, i);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->index, devices[i].index);
    EXPECT_EQ(std::string(d->name), devices[i].name);
    EXPECT_EQ(std::string(d->api_version), devices[i].api_version);
    EXPECT_EQ(d->usable, devices[i].usable() ? 1 : 0);
    EXPECT_EQ(std::string(d->why_unusable), devices[i].unsupported_reason);
    EXPECT_EQ(d->is_default, i == chosen ? 1 : 0);
    EXPECT_EQ(d->subgroup_size, devices[i].subgroup_size);
    EXPECT_GT(d->device_memory_bytes, 0u);
  }
  EXPECT_EQ(lagvk_device_list_get(list, devices.size()), nullptr);
  // The model loaded on the default device.
  EXPECT_EQ(std::string(lagvk_model_get_info(model_)->device_name), devices[chosen].name);
  lagvk_device_list_free(list);
}

TEST_F(CApiModel, InfoDescribesTheModel) {
  const Model m = Model::open(path_);
  const ModelConfig& c = m.config();
  const lagvk_model_info* info = lagvk_model_get_info(model_);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(std::string(info->architecture), c.arch);
  EXPECT_EQ(std::string(info->name), c.name);
  EXPECT_EQ(std::string(info->chat_format),
            std::string(chat_format_name(detect_chat_template(m.gguf()).format)));
  EXPECT_EQ(info->vocab_size, c.n_vocab);
  EXPECT_EQ(info->layers, c.n_layers);
  EXPECT_EQ(info->embedding_size, c.n_embd);
  EXPECT_EQ(info->heads, c.n_head);
  EXPECT_EQ(info->kv_heads, c.n_head_kv);
  EXPECT_EQ(info->head_dim, c.head_dim);
  EXPECT_EQ(info->context_tokens, kContext);
  EXPECT_EQ(info->trained_context, c.n_ctx_train);
  const auto tok = make_tokenizer(m.gguf());
  EXPECT_EQ(info->bos_token, tok->bos());
  EXPECT_EQ(info->eos_token, tok->eos());
  EXPECT_GT(info->weight_bytes, 0u);
  EXPECT_GT(info->load_ms, 0.0);
}

TEST_F(CApiModel, TokenizeIsTheTokenizers) {
  const Model m = Model::open(path_);
  const auto tok = make_tokenizer(m.gguf());
  for (const std::string text : {"the glass harbor", "", "<s> and </s> as text", "ünïcødé ✓ 123"}) {
    for (int add_bos : {0, 1}) {
      for (int parse_special : {0, 1}) {
        const auto want = tok->encode(text, add_bos && tok->add_bos_by_default(), parse_special != 0);
        std::vector<std::int32_t> got(want.size() + 4, -7);
        std::size_t n = 0;
        ASSERT_EQ(lagvk_tokenize(model_, text.data(), text.size(), add_bos, parse_special, got.data(),
                                 got.size(), &n),
                  LAGVK_OK)
            << lagvk_last_error();
        ASSERT_EQ(n, want.size()) << text;
        got.resize(n);
        EXPECT_EQ(got, want) << text << " add_bos " << add_bos << " parse_special " << parse_special;
      }
    }
  }
  // Too small a buffer: the size needed, nothing written; a NULL buffer of capacity 0 asks for the size.
  const auto want = tok->encode(kPrompt, tok->add_bos_by_default(), false);
  ASSERT_GT(want.size(), 1u);
  std::vector<std::int32_t> small(1, -7);
  std::size_t n = 0;
  EXPECT_TRUE(fails_with(lagvk_tokenize(model_, kPrompt.data(), kPrompt.size(), 1, 0, small.data(), 1, &n),
                         LAGVK_ERROR_BUFFER_TOO_SMALL));
  EXPECT_EQ(n, want.size());
  EXPECT_EQ(small[0], -7);
  n = 0;
  EXPECT_TRUE(fails_with(lagvk_tokenize(model_, kPrompt.data(), kPrompt.size(), 1, 0, nullptr, 0, &n),
                         LAGVK_ERROR_BUFFER_TOO_SMALL));
  EXPECT_EQ(n, want.size());
}

TEST_F(CApiModel, DetokenizeIsTheTokenizersWithSpecialTokens) {
  const Model m = Model::open(path_);
  const auto tok = make_tokenizer(m.gguf());
  const auto ids = tok->encode("the glass harbor ✓", true, false);
  const std::string want = tok->decode(ids, /*render_special=*/true);
  ASSERT_NE(want.find("<s>"), std::string::npos) << "BOS renders as its text: " << want;
  std::string got(want.size() + 1, 'x');
  std::size_t len = 0;
  ASSERT_EQ(lagvk_detokenize(model_, ids.data(), ids.size(), got.data(), got.size(), &len), LAGVK_OK);
  ASSERT_EQ(len, want.size());
  EXPECT_EQ(got.substr(0, len), want);
  EXPECT_EQ(got[len], '\0') << "a terminator where there is room";
  // Exactly the size: the text, no terminator.
  std::string exact(want.size(), 'x');
  ASSERT_EQ(lagvk_detokenize(model_, ids.data(), ids.size(), exact.data(), exact.size(), &len), LAGVK_OK);
  EXPECT_EQ(exact, want);
  // One byte short: the size needed, the buffer untouched.
  std::string shorter(want.size() - 1, 'x');
  EXPECT_TRUE(
      fails_with(lagvk_detokenize(model_, ids.data(), ids.size(), shorter.data(), shorter.size(), &len),
                 LAGVK_ERROR_BUFFER_TOO_SMALL));
  EXPECT_EQ(len, want.size());
  EXPECT_EQ(shorter, std::string(want.size() - 1, 'x'));
  // An id outside the vocabulary is bad input.
  const std::int32_t bad[] = {1, std::int32_t(tok->vocab_size())};
  EXPECT_TRUE(
      fails_with(lagvk_detokenize(model_, bad, 2, got.data(), got.size(), &len), LAGVK_ERROR_BAD_INPUT));
  const std::int32_t negative[] = {-1};
  EXPECT_TRUE(
      fails_with(lagvk_detokenize(model_, negative, 1, got.data(), got.size(), &len), LAGVK_ERROR_BAD_INPUT));
}

TEST_F(CApiModel, ChatRenderIsTheTemplates) {
  const Model m = Model::open(path_);
  const ChatTemplate tmpl = detect_chat_template(m.gguf());
  const lagvk_message messages[] = {{"system", "be brief"}, {"user", "who directed the glass harbor"}};
  const std::vector<ChatMessage> chat = {{"system", "be brief"}, {"user", "who directed the glass harbor"}};
  for (int add_generation_prompt : {0, 1}) {
    const std::string want = render_chat(tmpl, chat, add_generation_prompt != 0);
    std::string got(want.size() + 1, 'x');
    std::size_t len = 0;
    ASSERT_EQ(lagvk_chat_render(model_, messages, 2, add_generation_prompt, got.data(), got.size(), &len),
              LAGVK_OK);
    EXPECT_EQ(got.substr(0, len), want);
  }
  std::size_t len = 0;
  EXPECT_TRUE(
      fails_with(lagvk_chat_render(model_, messages, 2, 1, nullptr, 0, &len), LAGVK_ERROR_BUFFER_TOO_SMALL));
  EXPECT_EQ(len, render_chat(tmpl, chat, true).size());
  const lagvk_message bad_role[] = {{"narrator", "hello"}};
  char buf[256];
  EXPECT_TRUE(fails_with(lagvk_chat_render(model_, bad_role, 1, 1, buf, sizeof buf, &len),
                         LAGVK_ERROR_INVALID_ARGUMENT));
  EXPECT_NE(std::string(lagvk_last_error()).find("narrator"), std::string::npos);
  const lagvk_message null_content[] = {{"user", nullptr}};
  EXPECT_TRUE(fails_with(lagvk_chat_render(model_, null_content, 1, 1, buf, sizeof buf, &len),
                         LAGVK_ERROR_INVALID_ARGUMENT));
}

struct Streamed {
  std::string text;
  std::vector<std::int32_t> tokens;
};

int collect(void* user_data, int32_t token, const char* text, size_t len) {
  auto* s = static_cast<Streamed*>(user_data);
  s->tokens.push_back(token);
  s->text.append(text, len);
  return 0;
}

TEST_F(CApiModel, GreedyGenerateIsLagvkRunTemp0) {
  Streamed streamed;
  lagvk_generate_params g = greedy(16);
  g.on_token = collect;
  g.user_data = &streamed;
  lagvk_completion* c = generate(g);
  ASSERT_NE(c, nullptr);
  const lagvk_completion_info* info = lagvk_completion_get(c);
  EXPECT_EQ(info->text[info->text_len], '\0');
  EXPECT_EQ(streamed.text, text_of(c));
  EXPECT_EQ(streamed.tokens, tokens_of(c));
  EXPECT_GT(info->prompt_tokens, 0u);
  EXPECT_GT(info->decode_ms, 0.0);
  EXPECT_TRUE(info->stop_reason == LAGVK_STOP_MAX_TOKENS ||
              info->stop_reason == LAGVK_STOP_END_OF_GENERATION);

  const std::string args = "run -m " + path_ + " -p '" + kPrompt + "' -n 16 --temp 0 --ctx 512";
  const auto json_run = run_lagvk(args + " --json", false);
  ASSERT_EQ(json_run.status, 0) << json_run.out;
  const auto j = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(j["tokens"].get<std::vector<std::int32_t>>(), tokens_of(c));
  EXPECT_EQ(j["prompt_tokens"].size(), info->prompt_tokens);
  const auto text_run = run_lagvk(args, false);
  ASSERT_EQ(text_run.status, 0) << text_run.out;
  EXPECT_EQ(text_run.out, text_of(c) + "\n") << "the streamed text of lagvk run, then its newline";

  // The same ids through lagvk_generate_tokens give the same tokens.
  std::vector<std::int32_t> prompt(64);
  std::size_t n = 0;
  ASSERT_EQ(lagvk_tokenize(model_, kPrompt.data(), kPrompt.size(), 1, 0, prompt.data(), prompt.size(), &n),
            LAGVK_OK);
  lagvk_completion* again = nullptr;
  const lagvk_generate_params plain = greedy(16);
  ASSERT_EQ(lagvk_generate_tokens(model_, prompt.data(), n, &plain, &again), LAGVK_OK) << lagvk_last_error();
  EXPECT_EQ(tokens_of(again), tokens_of(c));
  lagvk_completion_free(again);
  lagvk_completion_free(c);
}

TEST_F(CApiModel, ChatIsLagvkRunChat) {
  const std::string question = "who directed the glass harbor";
  const lagvk_message messages[] = {{"user", question.c_str()}};
  const lagvk_generate_params g = greedy(12);
  lagvk_completion* c = nullptr;
  ASSERT_EQ(lagvk_chat(model_, messages, 1, &g, &c), LAGVK_OK) << lagvk_last_error();
  const auto run =
      run_lagvk("run -m " + path_ + " --chat '" + question + "' -n 12 --temp 0 --ctx 512 --json", false);
  ASSERT_EQ(run.status, 0) << run.out;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["tokens"].get<std::vector<std::int32_t>>(), tokens_of(c));
  EXPECT_EQ(j["prompt_tokens"].size(), lagvk_completion_get(c)->prompt_tokens);
  lagvk_completion_free(c);
}

TEST_F(CApiModel, SamplingIsSeededAndStopStringsStop) {
  lagvk_generate_params g = lagvk_generate_params_default();
  g.max_tokens = 16;
  g.seed = 7;
  g.ignore_eos = 1;
  lagvk_completion* a = generate(g);
  lagvk_completion* b = generate(g);
  EXPECT_EQ(tokens_of(a), tokens_of(b));
  EXPECT_EQ(lagvk_completion_get(a)->n_tokens, 16u);
  // A stop string taken from the greedy text ends generation once the text ends with it.
  lagvk_completion* full = generate(greedy(16));
  const std::string text = text_of(full);
  ASSERT_GE(text.size(), 4u) << "the random model's greedy text is too short for this test: " << text;
  const std::string stop = text.substr(0, 4);
  const char* stops[] = {stop.c_str()};
  lagvk_generate_params with_stop = greedy(16);
  with_stop.stop = stops;
  with_stop.n_stop = 1;
  lagvk_completion* stopped = generate(with_stop);
  EXPECT_EQ(lagvk_completion_get(stopped)->stop_reason, LAGVK_STOP_STOP_STRING);
  const std::string stopped_text = text_of(stopped);
  ASSERT_GE(stopped_text.size(), stop.size());
  EXPECT_EQ(stopped_text.substr(stopped_text.size() - stop.size()), stop);
  for (auto* c : {a, b, full, stopped}) lagvk_completion_free(c);
}

TEST_F(CApiModel, EmbedIsTheEnginesVector) {
  const lagvk_model_info* info = lagvk_model_get_info(model_);
  std::vector<float> v(info->embedding_size);
  std::size_t dim = 0;
  ASSERT_EQ(lagvk_embed(model_, kPrompt.data(), kPrompt.size(), v.data(), v.size(), &dim), LAGVK_OK)
      << lagvk_last_error();
  EXPECT_EQ(dim, info->embedding_size);
  LoadOptions o;
  o.context = kContext;
  const auto engine = load_engine(path_, o);
  const std::vector<float> want = lag::embed_text(*engine, kPrompt);
  ASSERT_EQ(want.size(), v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    EXPECT_NEAR(v[i], want[i], 1e-5f * (1 + std::fabs(want[i]))) << i;
  dim = 0;
  EXPECT_TRUE(fails_with(lagvk_embed(model_, kPrompt.data(), kPrompt.size(), v.data(), v.size() - 1, &dim),
                         LAGVK_ERROR_BUFFER_TOO_SMALL));
  EXPECT_EQ(dim, info->embedding_size);
  EXPECT_TRUE(fails_with(lagvk_embed(model_, "", 0, v.data(), v.size(), &dim), LAGVK_ERROR_INVALID_ARGUMENT));
}

int stop_at_third(void* user_data, int32_t, const char*, size_t) {
  return ++*static_cast<int*>(user_data) == 3 ? 1 : 0;
}

TEST_F(CApiModel, TheTokenCallbackCancelsAndTheModelStaysUsable) {
  lagvk_completion* before = generate(greedy(8));
  int seen = 0;
  lagvk_generate_params g = greedy(64);
  g.ignore_eos = 1;
  g.on_token = stop_at_third;
  g.user_data = &seen;
  lagvk_completion* c = reinterpret_cast<lagvk_completion*>(0x1);
  EXPECT_TRUE(fails_with(lagvk_generate(model_, kPrompt.c_str(), &g, &c), LAGVK_ERROR_CANCELLED));
  EXPECT_EQ(c, nullptr) << "the output handle is NULL on failure";
  EXPECT_EQ(seen, 3) << "generation stopped at the token after the callback asked";
  // The sequence was freed: the model generates as before, again and again (a leaked sequence would
  // fill the KV pool of one sequence at once).
  for (int i = 0; i < 3; ++i) {
    lagvk_completion* after = generate(greedy(8));
    EXPECT_EQ(tokens_of(after), tokens_of(before));
    lagvk_completion_free(after);
  }
  lagvk_completion_free(before);
}

struct CrossThread {
  std::atomic<bool> first_token{false}, cancel_sent{false};
  int tokens = 0;
};

int wait_for_cancel(void* user_data, int32_t, const char*, size_t) {
  auto* s = static_cast<CrossThread*>(user_data);
  ++s->tokens;
  if (!s->first_token.exchange(true))
    while (!s->cancel_sent) std::this_thread::yield();
  return 0;
}

TEST_F(CApiModel, LagvkCancelFromAnotherThreadStopsAtTheNextToken) {
  CrossThread sync;
  lagvk_generate_params g = greedy(200);
  g.ignore_eos = 1;
  g.on_token = wait_for_cancel;
  g.user_data = &sync;
  std::thread canceller([&] {
    while (!sync.first_token) std::this_thread::yield();
    lagvk_cancel(model_);
    sync.cancel_sent = true;
  });
  lagvk_completion* c = nullptr;
  const lagvk_status s = lagvk_generate(model_, kPrompt.c_str(), &g, &c);
  canceller.join();
  EXPECT_TRUE(fails_with(s, LAGVK_ERROR_CANCELLED));
  EXPECT_EQ(sync.tokens, 1);
  EXPECT_EQ(c, nullptr);
  // A cancel with nothing running is a no-op: the next generation is not cancelled by it or the last one.
  lagvk_cancel(model_);
  lagvk_completion* after = generate(greedy(4));
  EXPECT_NE(after, nullptr);
  lagvk_completion_free(after);
}

TEST_F(CApiModel, LastErrorIsPerThread) {
  lagvk_completion* c = nullptr;
  EXPECT_EQ(lagvk_generate(model_, nullptr, nullptr, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  const std::string here = lagvk_last_error();
  std::string there_before, there_after;
  std::thread other([&] {
    there_before = lagvk_last_error();
    lagvk_model* m = nullptr;
    const lagvk_model_params p = lagvk_model_params_default();
    EXPECT_EQ(lagvk_model_load((temp_path("nowhere") + ".gguf").c_str(), &p, &m), LAGVK_ERROR_FILE_NOT_FOUND);
    there_after = lagvk_last_error();
  });
  other.join();
  EXPECT_EQ(there_before, "") << "a new thread has no error yet";
  EXPECT_NE(there_after.find("nowhere"), std::string::npos) << there_after;
  EXPECT_EQ(std::string(lagvk_last_error()), here) << "the other thread's error is not this one's";
  EXPECT_NE(here.find("NULL"), std::string::npos) << here;
}

TEST_F(CApiModel, NullPointersAreInvalidArguments) {
  const lagvk_model_params mp = lagvk_model_params_default();
  const lagvk_generate_params gp = greedy(2);
  lagvk_model* m = nullptr;
  lagvk_completion* c = nullptr;
  lagvk_device_list* dl = nullptr;
  const lagvk_message msg[] = {{"user", "hi"}};
  std::int32_t ids[8] = {1, 5};
  char text[64];
  float vec[1024];
  std::size_t n = 0;
  const lagvk_status invalid = LAGVK_ERROR_INVALID_ARGUMENT;
  EXPECT_TRUE(fails_with(lagvk_devices(nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_model_load(nullptr, &mp, &m), invalid));
  EXPECT_TRUE(fails_with(lagvk_model_load(path_.c_str(), nullptr, &m), invalid));
  EXPECT_TRUE(fails_with(lagvk_model_load(path_.c_str(), &mp, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_tokenize(nullptr, "hi", 2, 1, 0, ids, 8, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_tokenize(model_, nullptr, 2, 1, 0, ids, 8, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_tokenize(model_, "hi", 2, 1, 0, nullptr, 8, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_tokenize(model_, "hi", 2, 1, 0, ids, 8, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_detokenize(nullptr, ids, 2, text, 64, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_detokenize(model_, nullptr, 2, text, 64, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_detokenize(model_, ids, 2, nullptr, 64, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_detokenize(model_, ids, 2, text, 64, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat_render(nullptr, msg, 1, 1, text, 64, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat_render(model_, nullptr, 1, 1, text, 64, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat_render(model_, msg, 1, 1, nullptr, 64, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat_render(model_, msg, 1, 1, text, 64, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate(nullptr, "hi", &gp, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate(model_, nullptr, &gp, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate(model_, "hi", nullptr, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate(model_, "hi", &gp, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate_tokens(nullptr, ids, 2, &gp, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate_tokens(model_, nullptr, 2, &gp, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate_tokens(model_, ids, 2, nullptr, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_generate_tokens(model_, ids, 2, &gp, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat(nullptr, msg, 1, &gp, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat(model_, nullptr, 1, &gp, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat(model_, msg, 1, nullptr, &c), invalid));
  EXPECT_TRUE(fails_with(lagvk_chat(model_, msg, 1, &gp, nullptr), invalid));
  EXPECT_TRUE(fails_with(lagvk_embed(nullptr, "hi", 2, vec, 1024, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_embed(model_, nullptr, 2, vec, 1024, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_embed(model_, "hi", 2, nullptr, 1024, &n), invalid));
  EXPECT_TRUE(fails_with(lagvk_embed(model_, "hi", 2, vec, 1024, nullptr), invalid));
  // A NULL stop string, and NULL where the header allows it (no crash, nothing to do).
  const char* null_stop[] = {nullptr};
  lagvk_generate_params bad_stop = greedy(2);
  bad_stop.stop = null_stop;
  bad_stop.n_stop = 1;
  EXPECT_TRUE(fails_with(lagvk_generate(model_, "hi", &bad_stop, &c), invalid));
  EXPECT_EQ(lagvk_model_get_info(nullptr), nullptr);
  EXPECT_EQ(lagvk_completion_get(nullptr), nullptr);
  EXPECT_EQ(lagvk_device_list_size(nullptr), 0u);
  EXPECT_EQ(lagvk_device_list_get(nullptr, 0), nullptr);
  lagvk_cancel(nullptr);
  lagvk_model_free(nullptr);
  lagvk_completion_free(nullptr);
  lagvk_device_list_free(nullptr);
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(dl, nullptr);
}

TEST_F(CApiModel, BadParametersAreInvalidArguments) {
  lagvk_completion* c = nullptr;
  lagvk_generate_params g = greedy(2);
  g.top_p = 0.0f;
  EXPECT_TRUE(fails_with(lagvk_generate(model_, "hi", &g, &c), LAGVK_ERROR_INVALID_ARGUMENT));
  g = greedy(2);
  g.repeat_penalty = -1.0f;
  EXPECT_TRUE(fails_with(lagvk_generate(model_, "hi", &g, &c), LAGVK_ERROR_INVALID_ARGUMENT));
  g = greedy(2);
  g.temperature = std::nanf("");
  EXPECT_TRUE(fails_with(lagvk_generate(model_, "hi", &g, &c), LAGVK_ERROR_INVALID_ARGUMENT));
  // Token ids outside the vocabulary are bad input; an empty prompt is an invalid argument.
  const std::int32_t bad[] = {1, 1 << 20};
  g = greedy(2);
  EXPECT_TRUE(fails_with(lagvk_generate_tokens(model_, bad, 2, &g, &c), LAGVK_ERROR_BAD_INPUT));
  const std::int32_t one[] = {1};
  EXPECT_TRUE(fails_with(lagvk_generate_tokens(model_, one, 0, &g, &c), LAGVK_ERROR_INVALID_ARGUMENT));
  EXPECT_EQ(c, nullptr);
  lagvk_model* m = nullptr;
  lagvk_model_params p = lagvk_model_params_default();
  p.device = -2;
  EXPECT_TRUE(fails_with(lagvk_model_load(path_.c_str(), &p, &m), LAGVK_ERROR_INVALID_ARGUMENT));
  p = lagvk_model_params_default();
  p.context_tokens = kMaxContextTokens + 1;
  EXPECT_TRUE(fails_with(lagvk_model_load(path_.c_str(), &p, &m), LAGVK_ERROR_INVALID_ARGUMENT));
  p = lagvk_model_params_default();
  p.max_batch = 0;
  EXPECT_TRUE(fails_with(lagvk_model_load(path_.c_str(), &p, &m), LAGVK_ERROR_INVALID_ARGUMENT));
  p = lagvk_model_params_default();
  p.page_tokens = 0;
  EXPECT_TRUE(fails_with(lagvk_model_load(path_.c_str(), &p, &m), LAGVK_ERROR_INVALID_ARGUMENT));
  EXPECT_EQ(m, nullptr);
}

TEST(CApiModelFiles, MissingDamagedAndUnsupportedFilesAndDevices) {
  const lagvk_model_params p = lagvk_model_params_default();
  lagvk_model* m = reinterpret_cast<lagvk_model*>(0x1);
  const std::string missing = temp_path("missing") + ".gguf";
  EXPECT_TRUE(fails_with(lagvk_model_load(missing.c_str(), &p, &m), LAGVK_ERROR_FILE_NOT_FOUND));
  EXPECT_NE(std::string(lagvk_last_error()).find(missing), std::string::npos);
  EXPECT_EQ(m, nullptr);
  const std::string not_gguf = temp_path("not_gguf") + ".gguf";
  std::ofstream(not_gguf) << "this is a text file, not a model\n";
  EXPECT_TRUE(fails_with(lagvk_model_load(not_gguf.c_str(), &p, &m), LAGVK_ERROR_BAD_MODEL_FILE));
  // A GGUF cut short is damaged too.
  const std::string path = temp_path("cut") + ".gguf";
  make_random_model(small_model_spec(GgmlType::q8_0, 32)).write(path);
  const std::string cut = temp_path("cut_short") + ".gguf";
  fs::copy_file(path, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  EXPECT_TRUE(fails_with(lagvk_model_load(cut.c_str(), &p, &m), LAGVK_ERROR_BAD_MODEL_FILE));
  // An architecture lagvk does not run.
  const std::string alien = temp_path("alien") + ".gguf";
  {
    GgufWriter w = make_random_model(small_model_spec(GgmlType::q8_0, 33));
    w.set_string("general.architecture", "mamba");
    w.write(alien);
  }
  EXPECT_TRUE(fails_with(lagvk_model_load(alien.c_str(), &p, &m), LAGVK_ERROR_UNSUPPORTED_MODEL));
  // A device index that is not there.
  lagvk_model_params far = p;
  far.device = 4000;
  EXPECT_TRUE(fails_with(lagvk_model_load(path.c_str(), &far, &m), LAGVK_ERROR_NO_DEVICE));
  EXPECT_NE(std::string(lagvk_last_error()).find("device 4000 does not exist"), std::string::npos);
  EXPECT_EQ(std::string(lagvk_last_error()).find("--device"), std::string::npos) << "no CLI flags";
  EXPECT_EQ(m, nullptr);
  for (const auto& f : {not_gguf, path, cut, alien}) fs::remove(f);
}

TEST(CApiModelFiles, APromptLongerThanTheContextIsContextFull) {
  const std::string path = temp_path("small_context") + ".gguf";
  make_random_model(small_model_spec(GgmlType::q8_0, 34)).write(path);
  const lagvk_model_params p = params_with_context(16);
  lagvk_model* m = nullptr;
  ASSERT_EQ(lagvk_model_load(path.c_str(), &p, &m), LAGVK_OK) << lagvk_last_error();
  std::string long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt += "the glass harbor ";
  const lagvk_generate_params g = greedy(4);
  lagvk_completion* c = nullptr;
  EXPECT_TRUE(fails_with(lagvk_generate(m, long_prompt.c_str(), &g, &c), LAGVK_ERROR_CONTEXT_FULL));
  EXPECT_EQ(std::string(lagvk_last_error()).find("--ctx"), std::string::npos) << "no CLI flags";
  EXPECT_EQ(c, nullptr);
  std::vector<float> v(lagvk_model_get_info(m)->embedding_size);
  std::size_t dim = 0;
  EXPECT_TRUE(fails_with(lagvk_embed(m, long_prompt.data(), long_prompt.size(), v.data(), v.size(), &dim),
                         LAGVK_ERROR_CONTEXT_FULL));
  // The model still generates, and a generation that fills the context stops with CONTEXT_FULL.
  lagvk_generate_params fill = greedy(100);
  fill.ignore_eos = 1;
  ASSERT_EQ(lagvk_generate(m, "hi", &fill, &c), LAGVK_OK) << lagvk_last_error();
  EXPECT_EQ(lagvk_completion_get(c)->stop_reason, LAGVK_STOP_CONTEXT_FULL);
  lagvk_completion_free(c);
  lagvk_model_free(m);
  fs::remove(path);
}

struct Progress {
  int calls = 0;
  std::uint64_t last_done = 0, last_total = 0;
  int cancel_at = -1;
};

int on_progress(void* user_data, uint64_t done, uint64_t total) {
  auto* p = static_cast<Progress*>(user_data);
  ++p->calls;
  p->last_done = done;
  p->last_total = total;
  return p->calls == p->cancel_at ? 1 : 0;
}

TEST(CApiModelFiles, ProgressIsReportedAndCanCancelTheLoad) {
  const std::string path = temp_path("progress") + ".gguf";
  make_random_model(small_model_spec(GgmlType::q8_0, 35)).write(path);
  Progress seen;
  lagvk_model_params p = params_with_context(64);
  p.progress = on_progress;
  p.progress_user_data = &seen;
  lagvk_model* m = nullptr;
  ASSERT_EQ(lagvk_model_load(path.c_str(), &p, &m), LAGVK_OK) << lagvk_last_error();
  EXPECT_GT(seen.calls, 1);
  EXPECT_EQ(seen.last_done, seen.last_total);
  EXPECT_EQ(seen.last_total, lagvk_model_get_info(m)->weight_bytes);
  lagvk_model_free(m);

  Progress cancelled;
  cancelled.cancel_at = 2;
  p.progress_user_data = &cancelled;
  m = reinterpret_cast<lagvk_model*>(0x1);
  EXPECT_TRUE(fails_with(lagvk_model_load(path.c_str(), &p, &m), LAGVK_ERROR_CANCELLED));
  EXPECT_EQ(cancelled.calls, 2) << "the load stopped when the callback asked";
  EXPECT_EQ(m, nullptr);
  fs::remove(path);
}

TEST(CApiModelFiles, FreedAndWrongKindHandlesAreRefused) {
  const std::string path = temp_path("handles") + ".gguf";
  make_random_model(small_model_spec(GgmlType::q8_0, 36)).write(path);
  const lagvk_model_params p = params_with_context(64);
  lagvk_model* live = nullptr;
  lagvk_model* freed = nullptr;
  ASSERT_EQ(lagvk_model_load(path.c_str(), &p, &live), LAGVK_OK) << lagvk_last_error();
  ASSERT_EQ(lagvk_model_load(path.c_str(), &p, &freed), LAGVK_OK) << lagvk_last_error();
  lagvk_model_free(freed);
  const lagvk_generate_params g = greedy(2);
  lagvk_completion* c = nullptr;
  std::size_t n = 0;
  std::int32_t ids[8];
  const lagvk_status invalid = LAGVK_ERROR_INVALID_ARGUMENT;
  // A freed model: refused by every call, freeing it again does nothing.
  EXPECT_TRUE(fails_with(lagvk_generate(freed, "hi", &g, &c), invalid));
  EXPECT_NE(std::string(lagvk_last_error()).find("not a live handle"), std::string::npos);
  EXPECT_TRUE(fails_with(lagvk_tokenize(freed, "hi", 2, 1, 0, ids, 8, &n), invalid));
  EXPECT_EQ(lagvk_model_get_info(freed), nullptr);
  lagvk_cancel(freed);
  lagvk_model_free(freed);
  // A completion passed as a model, a model as a completion or a device list.
  ASSERT_EQ(lagvk_generate(live, "hi", &g, &c), LAGVK_OK) << lagvk_last_error();
  auto* completion_as_model = reinterpret_cast<lagvk_model*>(c);
  lagvk_completion* other = nullptr;
  EXPECT_TRUE(fails_with(lagvk_generate(completion_as_model, "hi", &g, &other), invalid));
  EXPECT_TRUE(fails_with(lagvk_embed(completion_as_model, "hi", 2, nullptr, 0, &n), invalid));
  EXPECT_EQ(lagvk_model_get_info(completion_as_model), nullptr);
  lagvk_model_free(completion_as_model);  // ignored: not a model
  EXPECT_NE(lagvk_completion_get(c), nullptr) << "the completion survived being passed as a model";
  auto* model_as_completion = reinterpret_cast<lagvk_completion*>(live);
  EXPECT_EQ(lagvk_completion_get(model_as_completion), nullptr);
  lagvk_completion_free(model_as_completion);  // ignored: not a completion
  EXPECT_EQ(lagvk_device_list_size(reinterpret_cast<lagvk_device_list*>(live)), 0u);
  lagvk_completion_free(c);
  EXPECT_EQ(lagvk_completion_get(c), nullptr) << "a freed completion";
  lagvk_completion_free(c);
  // The live model still works after all that.
  ASSERT_EQ(lagvk_generate(live, "hi", &g, &c), LAGVK_OK) << lagvk_last_error();
  lagvk_completion_free(c);
  lagvk_model_free(live);
  fs::remove(path);
}

// The engine's cancellation hook, which the C API's cancellation rests on.
TEST(EngineStopRequested, EndsGenerationWithCancelledAtTheNextToken) {
  const std::string path = temp_path("engine_stop") + ".gguf";
  make_random_model(small_model_spec(GgmlType::q8_0, 37)).write(path);
  LoadOptions o;
  o.context = 64;
  const auto engine = load_engine(path, o);
  const auto prompt = engine->tokenizer().encode(kPrompt, true, false);
  GenerateOptions g;
  g.sampling.temperature = 0;
  g.max_tokens = 20;
  g.stop_at_end_of_generation = false;
  int streamed = 0;
  g.stop_requested = [&] { return streamed == 2; };
  auto seq = engine->new_sequence();
  try {
    (void)generate(*engine, *seq, prompt, g, [&](std::int32_t, std::string_view) { ++streamed; });
    ADD_FAILURE() << "generation was not stopped";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::cancelled) << e.what();
  }
  EXPECT_EQ(streamed, 2);
  // Without the request, the same generation runs to max_tokens.
  g.stop_requested = [] { return false; };
  auto fresh = engine->new_sequence();
  seq.reset();
  EXPECT_EQ(generate(*engine, *fresh, prompt, g).tokens.size(), 20u);
  fs::remove(path);
}

}  // namespace
}  // namespace lagvk::test
