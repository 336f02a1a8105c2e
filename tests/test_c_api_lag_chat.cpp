// lagvk_ask_chat (a chat with tools, answered with logs: what lagvk serve's `lag` field runs) and the store's
// listing calls (lagvk_store_log_ids, lagvk_store_log_json, lagvk_store_remove), through the shared library
// on the shipped multihop model (plain chat format: the one whose prompt after logs differs from the chat
// alone). A chat of one question answers exactly as lagvk_ask does in every log mode (one context layout
// for both); the save filter decides whether a finished chat becomes a log, and the saved trace keeps the
// chat's messages and tool calls; the listing calls keep the buffer contract and report a missing log.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lagvk/lagvk.h"
#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kAssets = std::string(LAGVK_SOURCE_DIR) + "/assets";
const std::string kModel = kAssets + "/models/multihop-q8_0.gguf";
// A question whose chain begins like the stored logs' (multihop suite: unseen-46 and seen-93).
const std::string kQuestion = "What is the mayor of the capital of the country of Calxar?";

std::string last_error() {
  return lagvk_last_error();
}

/// The first n gold traces of the multihop suite, one JSON object each.
std::vector<std::string> gold_traces(std::size_t n) {
  std::ifstream in(kAssets + "/multihop/seen-gold-traces.jsonl");
  std::vector<std::string> out;
  for (std::string line; out.size() < n && std::getline(in, line);) out.push_back(line);
  return out;
}

class CApiLagChat : public ::testing::Test {
 protected:
  void SetUp() override {
    const lagvk_model_params mp = lagvk_model_params_default();
    ASSERT_EQ(lagvk_model_load(kModel.c_str(), &mp, &model_), LAGVK_OK) << last_error();
    lagvk_store_params sp = lagvk_store_params_default();
    sp.create = 1;
    ASSERT_EQ(lagvk_store_open(model_, (dir_.path() / "store").c_str(), &sp, &store_), LAGVK_OK)
        << last_error();
    for (const auto& trace : gold_traces(4)) {
      std::uint64_t id = 0;
      ASSERT_EQ(lagvk_store_add_trace(store_, trace.data(), trace.size(), LAGVK_SELECT_LAST, 0, &id),
                LAGVK_OK)
          << last_error();
      ids_.push_back(id);
    }
  }
  void TearDown() override {
    lagvk_store_close(store_);
    lagvk_model_free(model_);
  }

  /// Params placing exactly `ids` (which must outlive them; none when empty).
  static lagvk_ask_params ask_params(lagvk_log_mode mode, const std::vector<std::uint64_t>& ids) {
    static const std::uint64_t no_ids = 0;  // non-NULL: "exactly these (none)", not "retrieve"
    lagvk_ask_params p = lagvk_ask_params_default();
    p.mode = mode;
    p.log_ids = ids.empty() ? &no_ids : ids.data();
    p.n_log_ids = ids.size();
    p.generate.max_tokens = 16;
    return p;
  }

  test::ScratchDir dir_{"c_api_lag_chat"};
  lagvk_model* model_ = nullptr;
  lagvk_store* store_ = nullptr;
  std::vector<std::uint64_t> ids_;
};

struct Answer {
  std::string text;
  std::vector<std::int32_t> tokens;
  std::uint32_t prompt_tokens = 0;
  std::vector<std::pair<std::uint64_t, std::int32_t>> logs;  // id, first position
  std::optional<std::uint64_t> saved;
  std::uint32_t cached_tokens = 0;
};

Answer answer_of(lagvk_completion* c) {
  const lagvk_completion_info* info = lagvk_completion_get(c);
  Answer a{std::string(info->text, info->text_len),
           {info->tokens, info->tokens + info->n_tokens},
           info->prompt_tokens,
           {},
           std::nullopt};
  for (std::size_t i = 0; i < info->n_logs; ++i)
    a.logs.emplace_back(info->logs[i].id, info->logs[i].first_position);
  if (info->has_saved_log) a.saved = info->saved_log;
  a.cached_tokens = info->cached_tokens;
  lagvk_completion_free(c);
  return a;
}

// With a coprocessor too: the latents follow the logs and the chat's prompt as they follow ask's.
TEST_F(CApiLagChat, AnAugmentedChatOfOneQuestionAnswersAsAnAugmentedAsk) {
  const std::string made = (dir_.path() / "coprocessor.gguf").string();
  const auto r = test::run_lagvk("coprocessor make -m " + kModel + " --latents 4 -o '" + made + "'");
  ASSERT_EQ(r.status, 0) << r.out;
  lagvk_coprocessor* c = nullptr;
  ASSERT_EQ(lagvk_coprocessor_load(model_, made.c_str(), &c), LAGVK_OK) << last_error();
  const lagvk_chat_message chat[] = {{"user", kQuestion.c_str(), nullptr, nullptr}};
  const lagvk_chat_params cp = lagvk_chat_params_default();
  const std::vector<std::uint64_t> logs = {ids_[3], ids_[1]};
  for (const auto& [mode, name] : {std::pair{LAGVK_LOGS_KV, "kv"}, std::pair{LAGVK_LOGS_NONE, "none"}}) {
    SCOPED_TRACE(name);
    const std::vector<std::uint64_t> placed = mode == LAGVK_LOGS_NONE ? std::vector<std::uint64_t>{} : logs;
    lagvk_ask_params p = ask_params(mode, placed);
    const Answer plain = [&] {
      lagvk_completion* out = nullptr;
      EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &p, &out), LAGVK_OK) << last_error();
      return answer_of(out);
    }();
    p.coprocessor = c;
    p.latents = 3;
    lagvk_completion* asked = nullptr;
    lagvk_completion* chatted = nullptr;
    ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &p, &asked), LAGVK_OK) << last_error();
    ASSERT_EQ(lagvk_ask_chat(store_, chat, 1, &cp, &p, &chatted), LAGVK_OK) << last_error();
    EXPECT_EQ(lagvk_completion_get(asked)->latents, 3u);
    EXPECT_EQ(lagvk_completion_get(chatted)->latents, 3u);
    const Answer a = answer_of(asked), b = answer_of(chatted);
    EXPECT_EQ(b.tokens, a.tokens);
    EXPECT_NE(a.tokens, plain.tokens) << "the latents changed nothing (an untrained coprocessor's are noise)";
  }
  // Refusals name the call that was made, and the one check of a latent count says the same to a caller
  // that asks before calling (lagvk serve checks a request's augment.latents so).
  lagvk_ask_params p = ask_params(LAGVK_LOGS_NONE, {});
  p.coprocessor = c;
  p.latents = 5;
  lagvk_completion* out = nullptr;
  EXPECT_EQ(lagvk_ask_chat(store_, chat, 1, &cp, &p, &out), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("lagvk_ask_chat: latents 5 exceeds the 4 soft tokens"), std::string::npos)
      << last_error();
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &p, &out), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("lagvk_ask: latents 5 exceeds the 4 soft tokens"), std::string::npos)
      << last_error();
  EXPECT_EQ(lagvk_coprocessor_check_latents(c, 5), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("latents 5 exceeds the 4 soft tokens of the coprocessor '" + made + "'"),
            std::string::npos)
      << last_error();
  EXPECT_EQ(lagvk_coprocessor_check_latents(c, 4), LAGVK_OK);
  EXPECT_EQ(lagvk_coprocessor_check_latents(c, 0), LAGVK_OK);
  EXPECT_EQ(lagvk_coprocessor_check_latents(nullptr, 0), LAGVK_ERROR_INVALID_ARGUMENT);
  lagvk_coprocessor_free(c);
}

TEST_F(CApiLagChat, AChatOfOneQuestionAnswersAsAskInEveryMode) {
  const lagvk_chat_message chat[] = {{"user", kQuestion.c_str(), nullptr, nullptr}};
  const lagvk_chat_params cp = lagvk_chat_params_default();
  const std::vector<std::uint64_t> logs = {ids_[3], ids_[1]};
  for (const auto& [mode, name] : {std::pair{LAGVK_LOGS_KV, "kv"}, std::pair{LAGVK_LOGS_TEXT, "text"},
                                   std::pair{LAGVK_LOGS_NONE, "none"}}) {
    SCOPED_TRACE(name);
    const std::vector<std::uint64_t> placed = mode == LAGVK_LOGS_NONE ? std::vector<std::uint64_t>{} : logs;
    const lagvk_ask_params p = ask_params(mode, placed);
    lagvk_completion* asked = nullptr;
    lagvk_completion* chatted = nullptr;
    ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &p, &asked), LAGVK_OK) << last_error();
    ASSERT_EQ(lagvk_ask_chat(store_, chat, 1, &cp, &p, &chatted), LAGVK_OK) << last_error();
    const Answer a = answer_of(asked), b = answer_of(chatted);
    EXPECT_EQ(b.prompt_tokens, a.prompt_tokens);  // BOS first after logs too, as ask's prompt
    EXPECT_EQ(b.tokens, a.tokens);
    EXPECT_EQ(b.text, a.text);
    EXPECT_EQ(b.logs, a.logs);
    EXPECT_EQ(b.logs.size(), mode == LAGVK_LOGS_NONE ? 0u : 2u);
  }
}

TEST_F(CApiLagChat, WithoutLogsAChatAnswersAsTheChatAlone) {
  const lagvk_chat_message chat[] = {{"user", kQuestion.c_str(), nullptr, nullptr}};
  const lagvk_chat_params cp = lagvk_chat_params_default();
  const lagvk_ask_params p = ask_params(LAGVK_LOGS_KV, {});  // static: no ids to outlive
  lagvk_completion* plain = nullptr;
  lagvk_completion* with_store = nullptr;
  ASSERT_EQ(lagvk_chat_ex(model_, chat, 1, &cp, &p.generate, &plain), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_ask_chat(store_, chat, 1, &cp, &p, &with_store), LAGVK_OK) << last_error();
  const Answer a = answer_of(plain), b = answer_of(with_store);
  EXPECT_EQ(b.prompt_tokens, a.prompt_tokens);
  EXPECT_EQ(b.tokens, a.tokens);
}

// An agent's next step with the same logs continues the context its last step left: the logs and the
// transcript so far are not placed or evaluated again, and the answer is that of the step built afresh.
TEST_F(CApiLagChat, ANextStepWithTheSameLogsContinuesTheLastContext) {
  const lagvk_chat_params cp = lagvk_chat_params_default();
  const std::vector<std::uint64_t> placed = {ids_[3], ids_[1]};
  for (const auto& [mode, name] : {std::pair{LAGVK_LOGS_KV, "kv"}, std::pair{LAGVK_LOGS_TEXT, "text"}}) {
    SCOPED_TRACE(name);
    lagvk_ask_params p = ask_params(mode, placed);
    p.generate.reuse_prefix = 1;
    const lagvk_chat_message first_step[] = {{"user", kQuestion.c_str(), nullptr, nullptr}};
    lagvk_completion* c = nullptr;
    ASSERT_EQ(lagvk_ask_chat(store_, first_step, 1, &cp, &p, &c), LAGVK_OK) << last_error();
    const Answer first = answer_of(c);
    EXPECT_EQ(first.cached_tokens, 0u);
    const std::string line = first.text.substr(0, first.text.find('\n'));
    const lagvk_chat_message next_step[] = {{"user", kQuestion.c_str(), nullptr, nullptr},
                                            {"assistant", line.c_str(), nullptr, nullptr},
                                            {"tool", "Calxar country Vorvek", nullptr, nullptr}};
    ASSERT_EQ(lagvk_ask_chat(store_, next_step, 3, &cp, &p, &c), LAGVK_OK) << last_error();
    const Answer continued = answer_of(c);
    // The first step's whole prompt came from the kept context (text mode: the logs' text too).
    EXPECT_GE(continued.cached_tokens, first.prompt_tokens);
    EXPECT_EQ(continued.logs, first.logs);
    // The same step built afresh (without reuse_prefix).
    lagvk_ask_params fresh = p;
    fresh.generate.reuse_prefix = 0;
    ASSERT_EQ(lagvk_ask_chat(store_, next_step, 3, &cp, &fresh, &c), LAGVK_OK) << last_error();
    const Answer afresh = answer_of(c);
    EXPECT_EQ(afresh.cached_tokens, 0u);
    EXPECT_EQ(afresh.prompt_tokens, continued.prompt_tokens);
    EXPECT_EQ(afresh.tokens, continued.tokens);
    // Other logs: no reuse.
    const std::vector<std::uint64_t> other_logs = {ids_[0]};
    lagvk_ask_params other = ask_params(mode, other_logs);
    other.generate.reuse_prefix = 1;
    ASSERT_EQ(lagvk_ask_chat(store_, next_step, 3, &cp, &other, &c), LAGVK_OK) << last_error();
    EXPECT_EQ(answer_of(c).cached_tokens, 0u);
  }
}

int refuse(void* calls, const char*, size_t) {
  ++*static_cast<int*>(calls);
  return 0;
}

int accept_answer(void* seen, const char* answer, size_t len) {
  *static_cast<std::string*>(seen) = std::string(answer, len);
  return 1;
}

TEST_F(CApiLagChat, TheSaveFilterDecidesAndTheSavedTraceKeepsTheChat) {
  const char* calls_json =
      R"([{"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"relation\": )"
      R"(\"country\", \"entity\": \"Calxar\"}"}}])";
  const lagvk_chat_message chat[] = {{"user", kQuestion.c_str(), nullptr, nullptr},
                                     {"assistant", "Calxar country ?", calls_json, nullptr},
                                     {"tool", "Calxar country Vorvek", nullptr, "c1"}};
  const lagvk_chat_params cp = lagvk_chat_params_default();
  const std::vector<std::uint64_t> placed = {ids_[0]};
  lagvk_ask_params p = ask_params(LAGVK_LOGS_KV, placed);
  p.save = 1;
  const char* tags[] = {"agent", "step-3"};
  p.save_tags = tags;
  p.n_save_tags = 2;
  int refused = 0;
  p.save_filter = refuse;
  p.save_filter_data = &refused;
  lagvk_completion* c = nullptr;
  ASSERT_EQ(lagvk_ask_chat(store_, chat, 3, &cp, &p, &c), LAGVK_OK) << last_error();
  const Answer not_saved = answer_of(c);
  EXPECT_EQ(refused, 1);
  EXPECT_FALSE(not_saved.saved);
  std::uint64_t count = 0;
  ASSERT_EQ(lagvk_store_count(store_, &count), LAGVK_OK);
  EXPECT_EQ(count, ids_.size());

  std::string seen;
  p.save_filter = accept_answer;
  p.save_filter_data = &seen;
  ASSERT_EQ(lagvk_ask_chat(store_, chat, 3, &cp, &p, &c), LAGVK_OK) << last_error();
  const Answer saved = answer_of(c);
  ASSERT_TRUE(saved.saved);
  EXPECT_EQ(seen, saved.text);  // the filter saw the answer
  EXPECT_EQ(saved.text, not_saved.text);
  std::size_t len = 0;
  ASSERT_EQ(lagvk_store_log_json(store_, *saved.saved, nullptr, 0, &len), LAGVK_ERROR_BUFFER_TOO_SMALL);
  std::string text(len + 1, '\0');
  ASSERT_EQ(lagvk_store_log_json(store_, *saved.saved, text.data(), text.size(), &len), LAGVK_OK)
      << last_error();
  text.resize(len);
  const json record = json::parse(text);
  EXPECT_EQ(record["id"], *saved.saved);
  EXPECT_EQ(record["task"], kQuestion);
  EXPECT_EQ(record["tags"], json::parse(R"(["agent", "step-3"])"));
  EXPECT_EQ(record["selection"], "last");
  const json& messages = record["trace"];
  ASSERT_EQ(messages.size(), 4u) << messages.dump();
  EXPECT_EQ(messages[0]["role"], "user");
  EXPECT_EQ(messages[1]["content"],
            "Calxar country ?\n{\"name\": \"lookup\", \"arguments\": "
            "{\"relation\": \"country\", \"entity\": \"Calxar\"}}");
  EXPECT_EQ(messages[2]["role"], "tool");
  EXPECT_EQ(messages[3]["role"], "assistant");
  EXPECT_EQ(messages[3]["content"], saved.text);
  // The log holds the answer's tokens, captured from the live cache.
  EXPECT_EQ(record["token_ids"].get<std::vector<std::int32_t>>(), saved.tokens);
}

TEST_F(CApiLagChat, ListingShowingAndRemovingLogs) {
  std::size_t n = 0;
  ASSERT_EQ(lagvk_store_log_ids(store_, nullptr, 0, &n), LAGVK_ERROR_BUFFER_TOO_SMALL);
  EXPECT_EQ(n, ids_.size());
  std::vector<std::uint64_t> ids(n - 1);
  EXPECT_EQ(lagvk_store_log_ids(store_, ids.data(), ids.size(), &n), LAGVK_ERROR_BUFFER_TOO_SMALL);
  ids.resize(n);
  ASSERT_EQ(lagvk_store_log_ids(store_, ids.data(), ids.size(), &n), LAGVK_OK) << last_error();
  EXPECT_EQ(ids, ids_);
  EXPECT_EQ(lagvk_store_log_ids(store_, nullptr, 4, &n), LAGVK_ERROR_INVALID_ARGUMENT);

  ASSERT_EQ(lagvk_store_remove(store_, ids_[2]), LAGVK_OK) << last_error();
  EXPECT_EQ(lagvk_store_remove(store_, ids_[2]), LAGVK_ERROR_NOT_FOUND);
  EXPECT_NE(last_error().find("log " + std::to_string(ids_[2])), std::string::npos) << last_error();
  std::size_t len = 0;
  EXPECT_EQ(lagvk_store_log_json(store_, ids_[2], nullptr, 0, &len), LAGVK_ERROR_NOT_FOUND);
  EXPECT_EQ(lagvk_store_log_json(store_, 999, nullptr, 0, &len), LAGVK_ERROR_NOT_FOUND);
  ASSERT_EQ(lagvk_store_log_ids(store_, ids.data(), ids.size(), &n), LAGVK_OK);
  EXPECT_EQ(n, ids_.size() - 1);

  // An id that is gone cannot be placed: not found, as lagvk_ask says.
  const lagvk_chat_message chat[] = {{"user", kQuestion.c_str(), nullptr, nullptr}};
  const lagvk_chat_params cp = lagvk_chat_params_default();
  const std::vector<std::uint64_t> gone = {ids_[2]};
  const lagvk_ask_params p = ask_params(LAGVK_LOGS_KV, gone);
  lagvk_completion* c = nullptr;
  EXPECT_EQ(lagvk_ask_chat(store_, chat, 1, &cp, &p, &c), LAGVK_ERROR_NOT_FOUND);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(lagvk_ask_chat(store_, chat, 0, &cp, &p, &c), LAGVK_ERROR_INVALID_ARGUMENT);

  lagvk_store_close(store_);
  lagvk_store_params ro = lagvk_store_params_default();
  ro.read_only = 1;
  ASSERT_EQ(lagvk_store_open(model_, (dir_.path() / "store").c_str(), &ro, &store_), LAGVK_OK)
      << last_error();
  EXPECT_EQ(lagvk_store_remove(store_, ids_[0]), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("read-only"), std::string::npos) << last_error();
}

}  // namespace
}  // namespace lagvk::test
