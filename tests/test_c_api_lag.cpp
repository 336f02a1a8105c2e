// The C API's Log-Augmented Generation half (lagvk_store_*, lagvk_log_list_*, lagvk_ask) through the shared
// library: stores open, grow and answer in every log mode; lagvk_ask answers exactly as `lagvk ask --temp
// 0 --json` does for the same store and question (one ask flow, engine/lag/ask.hpp); and every misuse is
// a status with a message, never a crash: NULL arguments, closed or wrong-kind handles, a store of another
// model, writes to a read-only store, bad trace JSON, an unknown log id, a model freed before its store,
// and cancellation from the token callback.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/lag/ask.hpp"
#include "lagvk/lagvk.h"
#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

const char* const kTraceFilm =
    R"({"task": "who directed the glass harbor", "messages": [{"role": "user", "content": "who directed the )"
    R"(glass harbor"}, {"role": "assistant", "content": "mara ellison"}], "tags": ["film"]})";
const char* const kTracePerson =
    R"({"task": "where was mara ellison born", "messages": [{"role": "user", "content": "where was mara )"
    R"(ellison born"}, {"role": "assistant", "content": "port alden"}], "tags": ["person"]})";
const std::string kQuestion = "was mara ellison the director of the glass harbor";

/// A small random model written by `lagvk make-model` (seed picks the weights: another seed, another model).
std::string make_model(const fs::path& dir, int seed) {
  const std::string path = (dir / ("m" + std::to_string(seed) + ".gguf")).string();
  const auto r = run_lagvk(
      "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 --ctx 256 --seed " +
      std::to_string(seed) + " -o '" + path + "'");
  EXPECT_EQ(r.status, 0) << r.out;
  return path;
}

/// Text as `lagvk ask --json` prints it: invalid UTF-8 (a random model's bytes) replaced by U+FFFD.
std::string as_json_prints(const std::string& text) {
  const auto dumped = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(dumped).get<std::string>();
}

const lagvk_model_params kModelDefaults = lagvk_model_params_default();
const lagvk_store_params kStoreDefaults = lagvk_store_params_default();

std::string last_error() {
  return lagvk_last_error();
}

class CApiLag : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_.emplace("c_api_lag");
    dir_ = scratch_->path();
    model_path_ = make_model(dir_, 1);
  }
  static void TearDownTestSuite() { scratch_.reset(); }

  void SetUp() override {
    ASSERT_EQ(lagvk_model_load(model_path_.c_str(), &kModelDefaults, &model_), LAGVK_OK) << last_error();
    store_dir_ = (dir_ / ("store_" + std::to_string(++stores_))).string();
  }
  void TearDown() override {
    lagvk_store_close(store_);
    lagvk_model_free(model_);
  }

  /// Opens (creating) store_dir_ with the two traces added; returns their ids.
  std::vector<std::uint64_t> open_filled_store() {
    lagvk_store_params p = lagvk_store_params_default();
    p.create = 1;
    EXPECT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &p, &store_), LAGVK_OK) << last_error();
    std::vector<std::uint64_t> ids;
    for (const char* trace : {kTraceFilm, kTracePerson}) {
      std::uint64_t id = 0;
      EXPECT_EQ(lagvk_store_add_trace(store_, trace, std::strlen(trace), LAGVK_SELECT_LAST, 1, &id), LAGVK_OK)
          << last_error();
      ids.push_back(id);
    }
    return ids;
  }

  static lagvk_ask_params short_ask(lagvk_log_mode mode) {
    lagvk_ask_params p = lagvk_ask_params_default();
    p.mode = mode;
    p.generate.max_tokens = 4;
    return p;
  }

  static inline std::optional<test::ScratchDir> scratch_;
  static inline fs::path dir_;
  static inline std::string model_path_;
  static inline int stores_ = 0;
  lagvk_model* model_ = nullptr;
  lagvk_store* store_ = nullptr;
  std::string store_dir_;
};

TEST_F(CApiLag, DefaultsAreTheAskCommandsDefaults) {
  const lag::AskOptions cli;
  const lagvk_ask_params p = lagvk_ask_params_default();
  EXPECT_EQ(p.mode, LAGVK_LOGS_KV);
  EXPECT_EQ(p.retrieve.k, cli.k);
  EXPECT_EQ(lagvk_retrieve_params_default().k, cli.k);
  EXPECT_EQ(p.retrieve.retrieval, LAGVK_RETRIEVE_BM25);
  EXPECT_EQ(p.retrieve.tag, nullptr);
  EXPECT_EQ(p.log_ids, nullptr);
  EXPECT_EQ(p.save, 0);
  EXPECT_EQ(p.selection, LAGVK_SELECT_LAST);
  EXPECT_LE(p.generate.temperature, 0.0f) << "answers are greedy";
  EXPECT_EQ(p.generate.max_tokens, cli.generate.max_tokens);
  const lagvk_store_params s = lagvk_store_params_default();
  EXPECT_EQ(s.create, 0);
  EXPECT_EQ(s.read_only, 0);
  EXPECT_EQ(s.codec, LAGVK_CODEC_F16);
}

TEST_F(CApiLag, AddCountAndRetrieve) {
  const auto ids = open_filled_store();
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
  std::uint64_t n = 0;
  ASSERT_EQ(lagvk_store_count(store_, &n), LAGVK_OK) << last_error();
  EXPECT_EQ(n, 2u);

  lagvk_retrieve_params r = lagvk_retrieve_params_default();
  r.k = 1;
  lagvk_log_list* list = nullptr;
  ASSERT_EQ(lagvk_store_retrieve(store_, "who directed it", &r, &list), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_log_list_size(list), 1u);
  const lagvk_log_ref* best = lagvk_log_list_get(list, 0);
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->id, ids[0]);
  EXPECT_STREQ(best->task, "who directed the glass harbor");
  EXPECT_GT(best->score, 0.0);
  EXPECT_EQ(best->tokens, 0u);
  EXPECT_EQ(lagvk_log_list_get(list, 1), nullptr);
  lagvk_log_list_free(list);

  // Dense retrieval (the logs were added with embed) and the tag filter.
  r.k = 2;
  r.retrieval = LAGVK_RETRIEVE_DENSE;
  r.tag = "person";
  ASSERT_EQ(lagvk_store_retrieve(store_, "where was mara ellison born", &r, &list), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_log_list_size(list), 1u);
  EXPECT_EQ(lagvk_log_list_get(list, 0)->id, ids[1]);
  EXPECT_NEAR(lagvk_log_list_get(list, 0)->score, 1.0, 1e-3) << "the question is the log's task";
  lagvk_log_list_free(list);
}

TEST_F(CApiLag, DenseRetrievalWithoutVectorsIsAnInvalidArgument) {
  lagvk_store_params p = lagvk_store_params_default();
  p.create = 1;
  ASSERT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &p, &store_), LAGVK_OK) << last_error();
  std::uint64_t film = 0, person = 0;
  ASSERT_EQ(lagvk_store_add_trace(store_, kTraceFilm, std::strlen(kTraceFilm), LAGVK_SELECT_LAST, 0, &film),
            LAGVK_OK)
      << last_error();
  lagvk_retrieve_params r = lagvk_retrieve_params_default();
  r.retrieval = LAGVK_RETRIEVE_DENSE;
  lagvk_log_list* list = nullptr;
  EXPECT_EQ(lagvk_store_retrieve(store_, "where was mara ellison born", &r, &list),
            LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(list, nullptr);
  const std::string message = last_error();
  EXPECT_NE(message.find("has a dense vector"), std::string::npos) << message;
  EXPECT_NE(message.find(store_dir_), std::string::npos) << "the message names the store: " << message;
  EXPECT_EQ(message.find("--"), std::string::npos) << "a library message names no CLI flag: " << message;

  // With one log embedded, dense retrieval finds that one alone.
  ASSERT_EQ(
      lagvk_store_add_trace(store_, kTracePerson, std::strlen(kTracePerson), LAGVK_SELECT_LAST, 1, &person),
      LAGVK_OK)
      << last_error();
  ASSERT_EQ(lagvk_store_retrieve(store_, "where was mara ellison born", &r, &list), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_log_list_size(list), 1u);
  EXPECT_EQ(lagvk_log_list_get(list, 0)->id, person);
  lagvk_log_list_free(list);
}

TEST_F(CApiLag, AskAnswersAsTheAskCommandInEveryMode) {
  const auto ids = open_filled_store();
  lagvk_store_close(store_);  // the command opens it too (LMDB allows both; closing keeps the test simple)
  store_ = nullptr;
  lagvk_store_params p = lagvk_store_params_default();
  p.read_only = 1;
  ASSERT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &p, &store_), LAGVK_OK) << last_error();
  for (const auto& [mode, name] : {std::pair{LAGVK_LOGS_KV, "kv"}, std::pair{LAGVK_LOGS_TEXT, "text"},
                                   std::pair{LAGVK_LOGS_NONE, "none"}}) {
    SCOPED_TRACE(name);
    const auto cli = run_lagvk("ask -m '" + model_path_ + "' --store '" + store_dir_ + "' --logs " + name +
                                   " -k 2 -n 4 --temp 0 --json '" + kQuestion + "'",
                               false);
    ASSERT_EQ(cli.status, 0) << cli.out;
    const auto expected = nlohmann::json::parse(cli.out);
    lagvk_ask_params a = short_ask(mode);
    a.retrieve.k = 2;
    lagvk_completion* c = nullptr;
    ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_OK) << last_error();
    const lagvk_completion_info* info = lagvk_completion_get(c);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(as_json_prints(std::string(info->text, info->text_len)), expected["answer"].get<std::string>());
    EXPECT_EQ(std::vector<std::int32_t>(info->tokens, info->tokens + info->n_tokens),
              expected["tokens"].get<std::vector<std::int32_t>>());
    ASSERT_EQ(info->n_logs, expected["logs"].size());
    for (std::size_t i = 0; i < info->n_logs; ++i) {
      EXPECT_EQ(info->logs[i].id, expected["logs"][i]["id"].get<std::uint64_t>());
      EXPECT_EQ(info->logs[i].tokens, expected["logs"][i]["tokens"].get<std::uint32_t>());
      EXPECT_EQ(info->logs[i].first_position, expected["logs"][i]["first_position"].get<std::int32_t>());
      EXPECT_STREQ(info->logs[i].task, expected["logs"][i]["task"].get<std::string>().c_str());
    }
    EXPECT_EQ(info->n_logs, mode == LAGVK_LOGS_NONE ? 0u : 2u);
    EXPECT_EQ(info->n_skipped, 0u);
    EXPECT_EQ(info->has_saved_log, 0);
    EXPECT_GT(info->prompt_tokens, 0u);
    lagvk_completion_free(c);
  }
  (void)ids;
}

TEST_F(CApiLag, AskWithGivenLogIdsPlacesExactlyThose) {
  const auto ids = open_filled_store();
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  const std::uint64_t reversed[] = {ids[1], ids[0]};
  a.log_ids = reversed;
  a.n_log_ids = 2;
  lagvk_completion* c = nullptr;
  ASSERT_EQ(lagvk_ask(store_, "anything at all", &a, &c), LAGVK_OK) << last_error();
  const lagvk_completion_info* info = lagvk_completion_get(c);
  ASSERT_EQ(info->n_logs, 2u);
  EXPECT_EQ(info->logs[0].id, ids[1]);
  EXPECT_EQ(info->logs[1].id, ids[0]);
  EXPECT_EQ(info->logs[0].first_position, 0);
  EXPECT_STREQ(info->logs[1].task, "who directed the glass harbor");
  lagvk_completion_free(c);
}

TEST_F(CApiLag, AnUnknownLogIdIsNotFound) {
  const auto ids = open_filled_store();
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  const std::uint64_t wanted[] = {ids[0], 999};
  a.log_ids = wanted;
  a.n_log_ids = 2;
  lagvk_completion* c = reinterpret_cast<lagvk_completion*>(&a);  // must be reset to NULL
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_ERROR_NOT_FOUND);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(last_error().find("log 999 is not in the store"), std::string::npos) << last_error();
}

TEST_F(CApiLag, AskWithSaveAddsALogRetrievalFinds) {
  (void)open_filled_store();
  const std::string question = "which country is port alden in";
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.save = 1;
  lagvk_completion* c = nullptr;
  ASSERT_EQ(lagvk_ask(store_, question.c_str(), &a, &c), LAGVK_OK) << last_error();
  const lagvk_completion_info* info = lagvk_completion_get(c);
  ASSERT_EQ(info->has_saved_log, 1);
  const std::uint64_t saved = info->saved_log;
  lagvk_completion_free(c);
  std::uint64_t n = 0;
  ASSERT_EQ(lagvk_store_count(store_, &n), LAGVK_OK);
  EXPECT_EQ(n, 3u);
  lagvk_retrieve_params r = lagvk_retrieve_params_default();
  r.k = 1;
  lagvk_log_list* list = nullptr;
  ASSERT_EQ(lagvk_store_retrieve(store_, question.c_str(), &r, &list), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_log_list_size(list), 1u);
  EXPECT_EQ(lagvk_log_list_get(list, 0)->id, saved);
  EXPECT_EQ(std::string(lagvk_log_list_get(list, 0)->task), question);
  lagvk_log_list_free(list);
}

TEST_F(CApiLag, AnAnswerThatFillsTheContextIsStillSaved) {
  (void)open_filled_store();
  lagvk_store_close(store_);
  store_ = nullptr;
  lagvk_model* small = nullptr;
  lagvk_model_params mp = lagvk_model_params_default();
  mp.context_tokens = 160;
  ASSERT_EQ(lagvk_model_load(model_path_.c_str(), &mp, &small), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_store_open(small, store_dir_.c_str(), &kStoreDefaults, &store_), LAGVK_OK) << last_error();
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.save = 1;
  a.generate.max_tokens = 200;  // more than the context holds: generation stops when it is full
  a.generate.ignore_eos = 1;
  lagvk_completion* c = nullptr;
  ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_OK) << last_error();
  const lagvk_completion_info* info = lagvk_completion_get(c);
  EXPECT_EQ(info->stop_reason, LAGVK_STOP_CONTEXT_FULL);
  EXPECT_EQ(info->has_saved_log, 1);
  lagvk_completion_free(c);
  lagvk_store_close(store_);
  store_ = nullptr;
  lagvk_model_free(small);
}

TEST_F(CApiLag, AMissingStoreIsFileNotFoundWithoutCreate) {
  lagvk_store* s = reinterpret_cast<lagvk_store*>(&s);
  EXPECT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &kStoreDefaults, &s), LAGVK_ERROR_FILE_NOT_FOUND);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(last_error().find(store_dir_), std::string::npos) << last_error();
  EXPECT_EQ(last_error().find("lagvk log"), std::string::npos) << "no CLI wording: " << last_error();
  EXPECT_FALSE(fs::exists(store_dir_));
}

TEST_F(CApiLag, AStoreOfAnotherModelIsAMismatch) {
  (void)open_filled_store();
  lagvk_store_close(store_);
  store_ = nullptr;
  const std::string other_path = make_model(dir_, 2);
  lagvk_model* other = nullptr;
  ASSERT_EQ(lagvk_model_load(other_path.c_str(), &kModelDefaults, &other), LAGVK_OK) << last_error();
  lagvk_store* s = nullptr;
  EXPECT_EQ(lagvk_store_open(other, store_dir_.c_str(), &kStoreDefaults, &s),
            LAGVK_ERROR_STORE_MODEL_MISMATCH);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(last_error().find("another model"), std::string::npos) << last_error();
  EXPECT_EQ(last_error().find("--store"), std::string::npos) << "no CLI wording: " << last_error();
  lagvk_model_free(other);
}

TEST_F(CApiLag, WritingToAReadOnlyStoreIsInvalidArgument) {
  (void)open_filled_store();
  lagvk_store_close(store_);
  lagvk_store_params p = lagvk_store_params_default();
  p.read_only = 1;
  ASSERT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &p, &store_), LAGVK_OK) << last_error();
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.save = 1;
  lagvk_completion* c = nullptr;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("read-only"), std::string::npos) << last_error();
  std::uint64_t id = 0;
  EXPECT_EQ(lagvk_store_add_trace(store_, kTraceFilm, std::strlen(kTraceFilm), LAGVK_SELECT_LAST, 0, &id),
            LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("read-only"), std::string::npos) << last_error();
  std::uint64_t n = 0;
  ASSERT_EQ(lagvk_store_count(store_, &n), LAGVK_OK);
  EXPECT_EQ(n, 2u);
  // Creating and reading only at once is a contradiction.
  lagvk_store* s = nullptr;
  p.create = 1;
  EXPECT_EQ(lagvk_store_open(model_, (store_dir_ + "_new").c_str(), &p, &s), LAGVK_ERROR_INVALID_ARGUMENT);
}

TEST_F(CApiLag, BadTraceJsonIsBadInput) {
  (void)open_filled_store();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not valid JSON"},
      {R"({"task": 1, "messages": []})", "\"task\" (a string) is missing"},
      {R"({"task": "t", "messages": [{"role": "robot", "content": "x"}]})", "role 'robot'"},
      {R"([)" + std::string(kTraceFilm) + "," + kTracePerson + "]", "exactly one trace"},
      {R"({"task": "t", "messages": [{"role": "user", "content": "x"}]})", "no assistant message"}};
  for (const auto& [json, fragment] : cases) {
    SCOPED_TRACE(json);
    std::uint64_t id = 12345;
    EXPECT_EQ(lagvk_store_add_trace(store_, json.data(), json.size(), LAGVK_SELECT_LAST, 0, &id),
              LAGVK_ERROR_BAD_INPUT);
    EXPECT_EQ(id, 12345u) << "outputs are written only on success";
    EXPECT_NE(last_error().find(fragment), std::string::npos) << last_error();
    EXPECT_EQ(last_error().find("--"), std::string::npos) << "no CLI wording: " << last_error();
  }
  std::uint64_t n = 0;
  ASSERT_EQ(lagvk_store_count(store_, &n), LAGVK_OK);
  EXPECT_EQ(n, 2u);
}

TEST_F(CApiLag, NullAndDeadHandlesAreInvalidArguments) {
  (void)open_filled_store();
  lagvk_store* s = nullptr;
  const lagvk_store_params* d = &kStoreDefaults;
  EXPECT_EQ(lagvk_store_open(nullptr, store_dir_.c_str(), d, &s), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_open(model_, nullptr, d, &s), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_open(model_, store_dir_.c_str(), nullptr, &s), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("params is NULL"), std::string::npos) << last_error();
  EXPECT_EQ(lagvk_store_open(model_, store_dir_.c_str(), d, nullptr), LAGVK_ERROR_INVALID_ARGUMENT);
  // A store passed as a model, a model passed as a store.
  EXPECT_EQ(lagvk_store_open(reinterpret_cast<lagvk_model*>(store_), store_dir_.c_str(), d, &s),
            LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("not a live handle"), std::string::npos) << last_error();
  std::uint64_t n = 0, id = 0;
  EXPECT_EQ(lagvk_store_count(reinterpret_cast<lagvk_store*>(model_), &n), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_count(nullptr, &n), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_count(store_, nullptr), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_add_trace(store_, nullptr, 0, LAGVK_SELECT_LAST, 0, &id),
            LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_add_trace(store_, kTraceFilm, std::strlen(kTraceFilm), LAGVK_SELECT_LAST, 0, nullptr),
            LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_add_trace(store_, kTraceFilm, std::strlen(kTraceFilm), lagvk_selection(7), 0, &id),
            LAGVK_ERROR_INVALID_ARGUMENT);
  lagvk_log_list* list = nullptr;
  lagvk_retrieve_params r = lagvk_retrieve_params_default();
  EXPECT_EQ(lagvk_store_retrieve(store_, nullptr, &r, &list), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_retrieve(store_, "q", nullptr, &list), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_store_retrieve(store_, "q", &r, nullptr), LAGVK_ERROR_INVALID_ARGUMENT);
  r.retrieval = lagvk_retrieval(9);
  EXPECT_EQ(lagvk_store_retrieve(store_, "q", &r, &list), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(list, nullptr);
  lagvk_completion* c = nullptr;
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  EXPECT_EQ(lagvk_ask(nullptr, "q", &a, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_ask(store_, nullptr, &a, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_ask(store_, "q", nullptr, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_ask(store_, "q", &a, nullptr), LAGVK_ERROR_INVALID_ARGUMENT);
  a = short_ask(lagvk_log_mode(5));
  EXPECT_EQ(lagvk_ask(store_, "q", &a, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  a = short_ask(LAGVK_LOGS_KV);
  a.n_log_ids = 2;  // without log_ids
  EXPECT_EQ(lagvk_ask(store_, "q", &a, &c), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr);
  // Lists: NULL and dead handles are empty, never read.
  EXPECT_EQ(lagvk_log_list_size(nullptr), 0u);
  EXPECT_EQ(lagvk_log_list_get(nullptr, 0), nullptr);
  lagvk_log_list_free(nullptr);
  lagvk_store_close(nullptr);
  // A closed store is refused, and closing it again is harmless.
  lagvk_store* closed = store_;
  lagvk_store_close(store_);
  store_ = nullptr;
  EXPECT_EQ(lagvk_store_count(closed, &n), LAGVK_ERROR_INVALID_ARGUMENT);
  lagvk_store_close(closed);
}

TEST_F(CApiLag, AStoreKeepsItsModelAfterTheModelIsFreed) {
  (void)open_filled_store();
  lagvk_model_free(model_);
  lagvk_model* freed = model_;
  model_ = nullptr;
  // The model's handle is dead at once...
  lagvk_store* s = nullptr;
  EXPECT_EQ(lagvk_store_open(freed, store_dir_.c_str(), &kStoreDefaults, &s), LAGVK_ERROR_INVALID_ARGUMENT);
  // ... but its store still answers, with the model it was opened with.
  lagvk_completion* c = nullptr;
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.save = 1;
  a.retrieve.k = 2;
  ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_OK) << last_error();
  EXPECT_EQ(lagvk_completion_get(c)->n_logs, 2u);
  lagvk_completion_free(c);
  std::uint64_t n = 0;
  ASSERT_EQ(lagvk_store_count(store_, &n), LAGVK_OK);
  EXPECT_EQ(n, 3u);
  lagvk_store_close(store_);  // the last store: the model goes with it (the sanitizer build sees leaks)
  store_ = nullptr;
}

struct StopAfter {
  int tokens_left;
  int calls = 0;
};

int stop_after(void* user_data, std::int32_t, const char*, std::size_t) {
  auto* s = static_cast<StopAfter*>(user_data);
  ++s->calls;
  return --s->tokens_left <= 0 ? 1 : 0;
}

struct CancelModel {
  lagvk_model* model;
  int calls = 0;
};

int cancel_model(void* user_data, std::int32_t, const char*, std::size_t) {
  auto* s = static_cast<CancelModel*>(user_data);
  ++s->calls;
  lagvk_cancel(s->model);  // allowed inside a callback
  return 0;
}

TEST_F(CApiLag, TheTokenCallbackAndLagvkCancelStopAnAsk) {
  (void)open_filled_store();
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.save = 1;
  a.generate.max_tokens = 16;
  a.generate.ignore_eos = 1;
  StopAfter stop{2};
  a.generate.on_token = stop_after;
  a.generate.user_data = &stop;
  lagvk_completion* c = nullptr;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_ERROR_CANCELLED);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(stop.calls, 2);
  CancelModel cancel{model_};
  a.generate.on_token = cancel_model;
  a.generate.user_data = &cancel;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_ERROR_CANCELLED);
  EXPECT_EQ(cancel.calls, 1);
  EXPECT_NE(last_error().find("cancelled"), std::string::npos) << last_error();
  std::uint64_t n = 0;
  ASSERT_EQ(lagvk_store_count(store_, &n), LAGVK_OK);
  EXPECT_EQ(n, 2u) << "a cancelled task is not saved";
  // The model and the store go on working; an earlier lagvk_cancel does not stop the next ask.
  a.generate.on_token = nullptr;
  ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &c), LAGVK_OK) << last_error();
  EXPECT_EQ(lagvk_completion_get(c)->n_tokens, 16u);
  EXPECT_EQ(lagvk_completion_get(c)->has_saved_log, 1);
  lagvk_completion_free(c);
}

}  // namespace
}  // namespace lagvk::test

// ---- cache augmentation --------------------------------------------------------------------------------

namespace lagvk::test {
namespace {

/// A coprocessor for the model at `model_path` written by `lagvk coprocessor make`.
std::string make_coprocessor(const std::string& model_path, const std::string& out, int latents) {
  const auto r = run_lagvk("coprocessor make -m '" + model_path + "' --latents " + std::to_string(latents) +
                           " -o '" + out + "'");
  EXPECT_EQ(r.status, 0) << r.out;
  return out;
}

TEST_F(CApiLag, ACoprocessorOfAnotherModelOrABadFileIsRefused) {
  const std::string other_path = make_model(dir_, 2);
  const std::string other_made = make_coprocessor(other_path, (dir_ / "other-c.gguf").string(), 2);
  const std::string made = make_coprocessor(model_path_, (dir_ / "c-refusals.gguf").string(), 2);
  lagvk_coprocessor* c = reinterpret_cast<lagvk_coprocessor*>(&c);  // must be reset to NULL
  EXPECT_EQ(lagvk_coprocessor_load(model_, other_made.c_str(), &c), LAGVK_ERROR_STORE_MODEL_MISMATCH);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(last_error().find("was trained for the decoder"), std::string::npos) << last_error();
  EXPECT_EQ(last_error().find("--"), std::string::npos) << "no CLI wording: " << last_error();
  EXPECT_EQ(lagvk_coprocessor_load(model_, model_path_.c_str(), &c), LAGVK_ERROR_BAD_MODEL_FILE);
  EXPECT_NE(last_error().find("is not a cache-augmentation coprocessor"), std::string::npos) << last_error();
  EXPECT_EQ(lagvk_coprocessor_load(model_, (dir_ / "missing.gguf").string().c_str(), &c),
            LAGVK_ERROR_FILE_NOT_FOUND);
  EXPECT_EQ(lagvk_coprocessor_load(nullptr, made.c_str(), &c), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_coprocessor_latents(nullptr), 0u);
  lagvk_coprocessor_free(nullptr);

  // One loaded for another model handle (even of the same file) is refused by the store's calls.
  lagvk_model* other = nullptr;
  ASSERT_EQ(lagvk_model_load(other_path.c_str(), &kModelDefaults, &other), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_coprocessor_load(other, other_made.c_str(), &c), LAGVK_OK) << last_error();
  EXPECT_EQ(lagvk_coprocessor_latents(c), 2u);
  const auto ids = open_filled_store();
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.coprocessor = c;
  lagvk_completion* out = nullptr;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &out), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("another model"), std::string::npos) << last_error();
  EXPECT_EQ(lagvk_store_augment_log(store_, ids[0], c, 0, 0, nullptr), LAGVK_ERROR_INVALID_ARGUMENT);
  lagvk_model_free(other);  // the coprocessor holds its model until it is freed
  EXPECT_EQ(lagvk_coprocessor_latents(c), 2u);
  lagvk_coprocessor_free(c);

  // More latents than the file has, latents without a coprocessor, a freed handle.
  ASSERT_EQ(lagvk_coprocessor_load(model_, made.c_str(), &c), LAGVK_OK) << last_error();
  a.coprocessor = c;
  a.latents = 3;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &out), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("2 soft tokens"), std::string::npos) << last_error();
  a.coprocessor = nullptr;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &out), LAGVK_ERROR_INVALID_ARGUMENT);
  lagvk_coprocessor_free(c);
  a.coprocessor = c;
  a.latents = 0;
  EXPECT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &out), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lagvk_coprocessor_latents(c), 0u);
}

// lagvk_ask with a coprocessor answers as `lagvk ask --coprocessor` does; without one, as it always did
// (the same tokens as the command without the flag, no latents reported).
TEST_F(CApiLag, AskWithACoprocessorAnswersAsTheAskCommand) {
  const std::string made = make_coprocessor(model_path_, (dir_ / "c-ask.gguf").string(), 4);
  (void)open_filled_store();
  lagvk_store_close(store_);
  store_ = nullptr;
  lagvk_store_params p = lagvk_store_params_default();
  p.read_only = 1;
  ASSERT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &p, &store_), LAGVK_OK) << last_error();
  lagvk_coprocessor* c = nullptr;
  ASSERT_EQ(lagvk_coprocessor_load(model_, made.c_str(), &c), LAGVK_OK) << last_error();
  const std::string command = "ask -m '" + model_path_ + "' --store '" + store_dir_ +
                              "' -k 2 -n 4 --temp 0 --json '" + kQuestion + "'";
  for (const std::uint32_t latents : {0u, 3u}) {
    SCOPED_TRACE("latents " + std::to_string(latents));
    const auto cli =
        run_lagvk(command + " --coprocessor '" + made + "' --latents " + std::to_string(latents), false);
    ASSERT_EQ(cli.status, 0) << cli.out;
    const auto expected = nlohmann::json::parse(cli.out);
    lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
    a.retrieve.k = 2;
    a.coprocessor = c;
    a.latents = latents;
    lagvk_completion* out = nullptr;
    ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &out), LAGVK_OK) << last_error();
    const lagvk_completion_info* info = lagvk_completion_get(out);
    EXPECT_EQ(std::vector<std::int32_t>(info->tokens, info->tokens + info->n_tokens),
              expected["tokens"].get<std::vector<std::int32_t>>());
    EXPECT_EQ(info->latents, latents == 0 ? 4u : latents);
    EXPECT_EQ(info->latents, expected["augmentation"]["latents"].get<std::uint32_t>());
    EXPECT_GT(info->augment_ms, 0.0);
    EXPECT_EQ(info->n_logs, 2u);
    lagvk_completion_free(out);
  }
  const auto plain = run_lagvk(command, false);
  ASSERT_EQ(plain.status, 0) << plain.out;
  lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
  a.retrieve.k = 2;
  EXPECT_EQ(a.coprocessor, nullptr);
  EXPECT_EQ(a.latents, 0u);
  lagvk_completion* out = nullptr;
  ASSERT_EQ(lagvk_ask(store_, kQuestion.c_str(), &a, &out), LAGVK_OK) << last_error();
  const lagvk_completion_info* info = lagvk_completion_get(out);
  EXPECT_EQ(std::vector<std::int32_t>(info->tokens, info->tokens + info->n_tokens),
            nlohmann::json::parse(plain.out)["tokens"].get<std::vector<std::int32_t>>());
  EXPECT_EQ(info->latents, 0u);
  EXPECT_EQ(info->augment_ms, 0.0);
  lagvk_completion_free(out);
  lagvk_coprocessor_free(c);
}

/// A log's record as lagvk_store_log_json returns it.
nlohmann::json log_record(lagvk_store* store, std::uint64_t id) {
  char text[1 << 16];
  std::size_t len = 0;
  EXPECT_EQ(lagvk_store_log_json(store, id, text, sizeof text, &len), LAGVK_OK) << lagvk_last_error();
  return nlohmann::json::parse(std::string(text, len));
}

// lagvk_store_augment_log: an added log augmented in place is the log `lagvk log add --coprocessor` makes
// of the same trace, keeps its id, tags and time, and lagvk_ask splices its tokens and latents.
TEST_F(CApiLag, AStoredLogIsAugmentedInPlace) {
  const std::string made = make_coprocessor(model_path_, (dir_ / "c-store.gguf").string(), 4);
  const auto ids = open_filled_store();
  lagvk_coprocessor* c = nullptr;
  ASSERT_EQ(lagvk_coprocessor_load(model_, made.c_str(), &c), LAGVK_OK) << last_error();
  const nlohmann::json before = log_record(store_, ids[0]);
  std::uint32_t latents = 99;
  ASSERT_EQ(lagvk_store_augment_log(store_, ids[0], c, 2, 0, &latents), LAGVK_OK) << last_error();
  EXPECT_EQ(latents, 2u);
  // Already augmented: kept without replace, replaced (by all four) with it.
  ASSERT_EQ(lagvk_store_augment_log(store_, ids[0], c, 0, 0, &latents), LAGVK_OK) << last_error();
  EXPECT_EQ(latents, 2u);
  ASSERT_EQ(lagvk_store_augment_log(store_, ids[0], c, 0, 1, &latents), LAGVK_OK) << last_error();
  EXPECT_EQ(latents, 4u);
  const nlohmann::json after = log_record(store_, ids[0]);
  EXPECT_EQ(after["latents"], 4);
  EXPECT_EQ(after["id"], ids[0]);
  for (const char* same : {"task", "tags", "created", "retrieval_text", "token_ids", "trace"})
    EXPECT_EQ(after[same], before[same]) << same;
  std::uint64_t count = 0;
  ASSERT_EQ(lagvk_store_count(store_, &count), LAGVK_OK);
  EXPECT_EQ(count, 2u);

  // The log `lagvk log add --coprocessor` makes of the same trace.
  const std::string trace_file = (dir_ / "film.json").string(), direct = store_dir_ + "-direct";
  {
    std::FILE* f = std::fopen(trace_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(kTraceFilm, f);
    std::fclose(f);
  }
  const auto added = run_lagvk("log add --store '" + direct + "' -m '" + model_path_ + "' --trace '" +
                               trace_file + "' --coprocessor '" + made + "' --json");
  ASSERT_EQ(added.status, 0) << added.out;
  lagvk_store* d = nullptr;
  ASSERT_EQ(lagvk_store_open(model_, direct.c_str(), &kStoreDefaults, &d), LAGVK_OK) << last_error();
  const nlohmann::json want = log_record(d, 1);
  for (const char* same : {"latents", "token_ids", "positions", "selection"})
    EXPECT_EQ(after[same], want[same]) << same;

  // ask places it with its latents, and answers as from the log add store.
  std::vector<std::vector<std::int32_t>> answers;
  for (lagvk_store* s : {store_, d}) {
    lagvk_ask_params a = short_ask(LAGVK_LOGS_KV);
    const std::uint64_t wanted[] = {s == d ? 1 : ids[0]};
    a.log_ids = wanted;
    a.n_log_ids = 1;
    lagvk_completion* out = nullptr;
    ASSERT_EQ(lagvk_ask(s, kQuestion.c_str(), &a, &out), LAGVK_OK) << last_error();
    const lagvk_completion_info* info = lagvk_completion_get(out);
    ASSERT_EQ(info->n_logs, 1u);
    EXPECT_EQ(info->logs[0].tokens, after["token_ids"].size() + 4);
    answers.emplace_back(info->tokens, info->tokens + info->n_tokens);
    lagvk_completion_free(out);
  }
  EXPECT_EQ(answers[0], answers[1]);
  lagvk_store_close(d);

  EXPECT_EQ(lagvk_store_augment_log(store_, 999, c, 0, 0, &latents), LAGVK_ERROR_NOT_FOUND);
  EXPECT_EQ(lagvk_store_augment_log(store_, ids[1], nullptr, 0, 0, &latents), LAGVK_ERROR_INVALID_ARGUMENT);
  lagvk_store_close(store_);
  store_ = nullptr;
  lagvk_store_params p = lagvk_store_params_default();
  p.read_only = 1;
  ASSERT_EQ(lagvk_store_open(model_, store_dir_.c_str(), &p, &store_), LAGVK_OK) << last_error();
  EXPECT_EQ(lagvk_store_augment_log(store_, ids[1], c, 0, 0, &latents), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("read-only"), std::string::npos) << last_error();
  lagvk_coprocessor_free(c);
}

// lagvk_store_add_trace_ex with a coprocessor encodes the log with its latents and writes it once: the log
// `lagvk log add --coprocessor` makes, and the one lagvk_store_add_trace then lagvk_store_augment_log leave.
// A refused augmentation (too many latents, latents that do not fit the context) stores nothing.
TEST_F(CApiLag, AddTraceExStoresAnAugmentedLogInOneWrite) {
  const std::string made = make_coprocessor(model_path_, (dir_ / "c-add.gguf").string(), 4);
  const std::string huge = make_coprocessor(model_path_, (dir_ / "c-huge.gguf").string(), 250);
  const auto ids = open_filled_store();
  lagvk_coprocessor *c = nullptr, *h = nullptr;
  ASSERT_EQ(lagvk_coprocessor_load(model_, made.c_str(), &c), LAGVK_OK) << last_error();
  ASSERT_EQ(lagvk_coprocessor_load(model_, huge.c_str(), &h), LAGVK_OK) << last_error();
  lagvk_add_trace_params p = lagvk_add_trace_params_default();
  EXPECT_EQ(p.selection, LAGVK_SELECT_LAST);
  EXPECT_EQ(p.embed, 0);
  EXPECT_EQ(p.coprocessor, nullptr);
  EXPECT_EQ(p.latents, 0u);
  p.coprocessor = c;
  p.latents = 3;
  std::uint64_t id = 0;
  ASSERT_EQ(lagvk_store_add_trace_ex(store_, kTraceFilm, std::strlen(kTraceFilm), &p, &id), LAGVK_OK)
      << last_error();
  const nlohmann::json added = log_record(store_, id);
  EXPECT_EQ(added["latents"], 3);
  // The same as added plain, then augmented in place.
  ASSERT_EQ(lagvk_store_augment_log(store_, ids[0], c, 3, 0, nullptr), LAGVK_OK) << last_error();
  const nlohmann::json in_place = log_record(store_, ids[0]);
  for (const char* same : {"latents", "token_ids", "positions", "selection", "task", "tags", "trace"})
    EXPECT_EQ(added[same], in_place[same]) << same;

  // The same as `lagvk log add --coprocessor --latents 3`.
  const std::string trace_file = (dir_ / "film-add.json").string(), direct = store_dir_ + "-direct";
  {
    std::FILE* f = std::fopen(trace_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(kTraceFilm, f);
    std::fclose(f);
  }
  const auto cli = run_lagvk("log add --store '" + direct + "' -m '" + model_path_ + "' --trace '" +
                             trace_file + "' --coprocessor '" + made + "' --latents 3 --json");
  ASSERT_EQ(cli.status, 0) << cli.out;
  lagvk_store* d = nullptr;
  ASSERT_EQ(lagvk_store_open(model_, direct.c_str(), &kStoreDefaults, &d), LAGVK_OK) << last_error();
  const nlohmann::json want = log_record(d, 1);
  lagvk_store_close(d);
  for (const char* same : {"latents", "token_ids", "positions", "selection"})
    EXPECT_EQ(added[same], want[same]) << same;

  // Refused: nothing is stored.
  std::uint64_t before = 0, after = 0;
  ASSERT_EQ(lagvk_store_count(store_, &before), LAGVK_OK);
  p.latents = 5;
  EXPECT_EQ(lagvk_store_add_trace_ex(store_, kTraceFilm, std::strlen(kTraceFilm), &p, &id),
            LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("lagvk_store_add_trace_ex"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("4 soft tokens"), std::string::npos) << last_error();
  p.coprocessor = nullptr;
  p.latents = 2;
  EXPECT_EQ(lagvk_store_add_trace_ex(store_, kTraceFilm, std::strlen(kTraceFilm), &p, &id),
            LAGVK_ERROR_INVALID_ARGUMENT);
  p.coprocessor = h;  // the trace fits the context; its 250 latents beside it do not
  p.latents = 0;
  EXPECT_EQ(lagvk_store_add_trace_ex(store_, kTracePerson, std::strlen(kTracePerson), &p, &id),
            LAGVK_ERROR_CONTEXT_FULL)
      << last_error();
  ASSERT_EQ(lagvk_store_count(store_, &after), LAGVK_OK);
  EXPECT_EQ(after, before) << "a refused log is not stored";
  // NULL params: lagvk_store_add_trace's defaults (no latents).
  ASSERT_EQ(lagvk_store_add_trace_ex(store_, kTracePerson, std::strlen(kTracePerson), nullptr, &id), LAGVK_OK)
      << last_error();
  EXPECT_EQ(log_record(store_, id).value("latents", 0), 0) << "a plain log has no latents";
  lagvk_coprocessor_free(h);
  lagvk_coprocessor_free(c);
}

}  // namespace
}  // namespace lagvk::test
