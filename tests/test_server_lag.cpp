// LAG through lagvk serve (the `lag` request field and /v1/logs) on the shipped multihop model:
// - a chat with logs answers exactly as `lagvk ask` with the same logs (one layout for both), names the
//   logs it placed and counts their spliced tokens as cached;
// - a task gathers logs across its steps (question first, then each step's latest assistant message),
//   never twice the same;
// - the logs REST API lists, shows, adds and removes logs; an unknown or malformed id, a server without a
//   store and malformed `lag` fields are OpenAI-shaped errors;
// - the official `openai` SDK runs an agent through the API (tests/server/lag_agent.test.mjs): a task saved
//   as a log is retrieved for a related task, which then takes fewer steps than without logs.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.hpp"
#include "tests/server/server_process.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kAssets = std::string(LAGVK_SOURCE_DIR) + "/assets";
const std::string kModel = kAssets + "/models/multihop-q8_0.gguf";
const fs::path kClients = fs::path(LAGVK_SOURCE_DIR) / "tests/server";

/// The suite's questions and gold traces by id ("seen-3", "unseen-46").
struct Suite {
  std::map<std::string, json> questions;
  std::map<std::string, std::string> gold_traces;  ///< seen questions' traces, one JSON object each
};

const Suite& suite() {
  static const Suite s = [] {
    Suite out;
    std::ifstream in(kAssets + "/multihop/questions.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json q = json::parse(line);
      out.questions[q["id"]] = q;
    }
    std::ifstream gold(kAssets + "/multihop/seen-gold-traces.jsonl");
    int i = 0;
    for (std::string line; std::getline(gold, line); ++i) out.gold_traces["seen-" + std::to_string(i)] = line;
    return out;
  }();
  return s;
}

std::string question(const std::string& id) {
  return suite().questions.at(id)["question"];
}

json post(httplib::Client& c, const std::string& path, const json& body, int* status = nullptr) {
  const auto r = c.Post(path, body.dump(), "application/json");
  if (!r) return json{{"transport_error", int(r.error())}};
  if (status) *status = r->status;
  return json::parse(r->body);
}

json get(httplib::Client& c, const std::string& path, int* status = nullptr) {
  const auto r = c.Get(path);
  if (!r) return json{{"transport_error", int(r.error())}};
  if (status) *status = r->status;
  return json::parse(r->body);
}

json chat_with_lag(httplib::Client& c, const json& messages, const json& lag, int max_tokens = 24) {
  int status = 0;
  const json r =
      post(c, "/v1/chat/completions",
           {{"messages", messages}, {"temperature", 0}, {"max_tokens", max_tokens}, {"lag", lag}}, &status);
  EXPECT_EQ(status, 200) << r.dump();
  return r;
}

std::vector<std::uint64_t> log_ids_of(const json& response) {
  std::vector<std::uint64_t> ids;
  for (const json& l : response["lag"]["logs"]) ids.push_back(l["id"]);
  return ids;
}

class ServerLag : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& gold_ids) {
    store_ = (dir_.path() / "store").string();
    const fs::path file = dir_.path() / "traces.jsonl";
    {
      std::ofstream out(file);
      for (const auto& id : gold_ids) out << suite().gold_traces.at(id) << "\n";
    }
    ASSERT_EQ(
        test::run_lagvk("log add -s '" + store_ + "' -m " + kModel + " -t '" + file.string() + "'").status,
        0);
    server_.emplace("-m " + kModel + " --port 0 --store '" + store_ + "'");
    ASSERT_GT(server_->port(), 0) << server_->output();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->stop(SIGTERM, 20s), 0);
    }
  }

  test::ScratchDir dir_{"server_lag"};
  std::string store_;
  std::optional<test::ServerProcess> server_;
};

TEST_F(ServerLag, AChatWithLogsAnswersAsAskWithThoseLogs) {
  start({"seen-93", "seen-3"});
  const std::string q = question("unseen-46");
  for (const char* mode : {"kv", "text"}) {
    SCOPED_TRACE(mode);
    const auto cli = test::run_lagvk("ask -m " + kModel + " -s '" + store_ + "' --logs " + mode +
                                     " -k 1 -n 24 --temp 0 --json '" + q + "'");
    ASSERT_EQ(cli.status, 0) << cli.out;
    const json expected = json::parse(cli.out);
    auto c = test::server_client(server_->port(), "");
    const json r =
        chat_with_lag(c, json::array({{{"role", "user"}, {"content", q}}}), {{"k", 1}, {"mode", mode}});
    EXPECT_EQ(r["choices"][0]["message"]["content"], expected["answer"]);
    ASSERT_EQ(r["lag"]["logs"].size(), 1u) << r.dump();
    ASSERT_EQ(expected["logs"].size(), 1u) << cli.out;
    EXPECT_EQ(r["lag"]["logs"][0]["id"], expected["logs"][0]["id"]);
    EXPECT_EQ(r["lag"]["logs"][0]["tokens"], expected["logs"][0]["tokens"]);
    EXPECT_GT(r["lag"]["logs"][0]["score"].get<double>(), 0.0);
    EXPECT_TRUE(r["lag"]["saved_log"].is_null());
    // The logs are prompt tokens; spliced as KV they were served from the store, not prefilled.
    const std::uint32_t log_tokens = r["lag"]["logs"][0]["tokens"];
    EXPECT_GT(r["usage"]["prompt_tokens"].get<std::uint32_t>(), log_tokens + 10);
    EXPECT_EQ(r["usage"]["completion_tokens"], expected["tokens"].size());
    EXPECT_EQ(r["usage"]["prompt_tokens_details"]["cached_tokens"],
              std::string(mode) == "kv" ? log_tokens : 0u);
  }
}

TEST_F(ServerLag, ATaskGathersLogsAcrossItsStepsWithoutDuplicates) {
  start({"seen-93", "seen-3", "seen-6", "seen-74", "seen-32"});
  auto c = test::server_client(server_->port(), "");
  const std::string q = question("unseen-46");
  json messages = json::array({{{"role", "user"}, {"content", q}}});
  const json first = chat_with_lag(c, messages, {{"k", 1}, {"max_logs", 0}, {"task_id", "t"}});
  const auto ids1 = log_ids_of(first);
  ASSERT_EQ(ids1.size(), 1u) << first.dump();
  // The next step: the model's line and a tool result. Its query is that line.
  messages.push_back({{"role", "assistant"}, {"content", "Rosmar spouse ? Action: lookup(spouse, Rosmar)"}});
  messages.push_back({{"role", "tool"}, {"content", "Rosmar spouse Quinmar"}});
  // The default cap (the library's, 1 log per task) keeps the task's first log only.
  const json capped = chat_with_lag(c, messages, {{"k", 1}, {"task_id", "t"}});
  EXPECT_EQ(log_ids_of(capped), ids1) << capped.dump();
  const json second = chat_with_lag(c, messages, {{"k", 1}, {"max_logs", 0}, {"task_id", "t"}});
  const auto ids2 = log_ids_of(second);
  ASSERT_EQ(ids2.size(), 2u) << second.dump();
  EXPECT_EQ(ids2[0], ids1[0]);  // the task's logs stay first, in order
  EXPECT_NE(ids2[1], ids1[0]);
  // Retrieved with the step's line (which names Rosmar), not the question again.
  const json added = get(c, "/v1/logs/" + std::to_string(ids2[1]));
  EXPECT_NE(added["task"].get<std::string>().find("Rosmar"), std::string::npos) << added.dump();
  // Another task with the same messages starts afresh: its question alone.
  const json other = chat_with_lag(c, json::array({messages[0]}), {{"k", 1}, {"task_id", "u"}});
  EXPECT_EQ(log_ids_of(other), ids1);
  // mode none places nothing.
  const json none = chat_with_lag(c, messages, {{"k", 3}, {"task_id", "t"}, {"mode", "none"}});
  EXPECT_TRUE(none["lag"]["logs"].empty()) << none.dump();
}

TEST_F(ServerLag, TheLogsApiListsShowsAddsAndRemoves) {
  start({"seen-93"});
  auto c = test::server_client(server_->port(), "");
  int status = 0;
  json list = get(c, "/v1/logs", &status);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 1u);
  const std::uint64_t first = list["data"][0]["id"];
  EXPECT_EQ(list["data"][0]["task"], question("seen-93"));
  EXPECT_GT(list["data"][0]["tokens"].get<int>(), 0);

  const json trace = json::parse(suite().gold_traces.at("seen-3"));
  const json added = post(c, "/v1/logs", trace, &status);
  ASSERT_EQ(status, 200) << added.dump();
  const std::uint64_t id = added["id"];
  EXPECT_EQ(added["task"], trace["task"]);
  const json shown = get(c, "/v1/logs/" + std::to_string(id), &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(shown["trace"], trace["messages"]);
  EXPECT_EQ(shown["object"], "lag.log");
  EXPECT_EQ(get(c, "/v1/logs")["data"].size(), 2u);

  const auto del = c.Delete("/v1/logs/" + std::to_string(first));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  EXPECT_EQ(json::parse(del->body)["deleted"], true);
  list = get(c, "/v1/logs");
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], id);
  // The CLI sees the same store.
  const auto ls = test::run_lagvk("log ls -s '" + store_ + "' --json");
  ASSERT_EQ(ls.status, 0) << ls.out;
  EXPECT_EQ(json::parse(ls.out).size(), 1u);

  const auto again = c.Delete("/v1/logs/" + std::to_string(first));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
  EXPECT_EQ(json::parse(again->body)["error"]["code"], "log_not_found");
  EXPECT_EQ(get(c, "/v1/logs/12345", &status)["error"]["code"], "log_not_found");
  EXPECT_EQ(status, 404);
  EXPECT_EQ(get(c, "/v1/logs/1abc", &status)["error"]["code"], "invalid_value");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(post(c, "/v1/logs", json{{"task", "x"}}, &status)["error"]["code"], "invalid_value");
  EXPECT_EQ(status, 400);
  const auto junk = c.Post("/v1/logs", "{not json", "application/json");
  ASSERT_TRUE(junk);
  EXPECT_EQ(junk->status, 400);
  EXPECT_EQ(json::parse(junk->body)["error"]["code"], "invalid_json");
}

TEST_F(ServerLag, MalformedLagFieldsAreOpenAiErrors) {
  start({"seen-93"});
  auto c = test::server_client(server_->port(), "");
  const json messages = json::array({{{"role", "user"}, {"content", question("unseen-46")}}});
  for (const auto& [lag, param] :
       std::vector<std::pair<json, std::string>>{{json(3), "lag"},
                                                 {json{{"k", -1}}, "lag.k"},
                                                 {json{{"k", 1000}}, "lag.k"},
                                                 {json{{"k", "3"}}, "lag.k"},
                                                 {json{{"max_logs", -1}}, "lag.max_logs"},
                                                 {json{{"max_logs", 65}}, "lag.max_logs"},
                                                 {json{{"max_logs", 1.5}}, "lag.max_logs"},
                                                 {json{{"mode", "fast"}}, "lag.mode"},
                                                 {json{{"task_id", 7}}, "lag.task_id"},
                                                 {json{{"task_id", ""}}, "lag.task_id"},
                                                 {json{{"tags", "a"}}, "lag.tags"},
                                                 {json{{"tags", json::array({1})}}, "lag.tags"}}) {
    SCOPED_TRACE(lag.dump());
    int status = 0;
    const json r = post(c, "/v1/chat/completions", {{"messages", messages}, {"lag", lag}}, &status);
    EXPECT_EQ(status, 400) << r.dump();
    EXPECT_EQ(r["error"]["param"], param) << r.dump();
  }
  // The server still serves.
  EXPECT_EQ(chat_with_lag(c, messages, {{"k", 1}})["lag"]["logs"].size(), 1u);
}

TEST(ServerLagWithoutStore, LagRequestsAndTheLogsApiNeedAStore) {
  test::ServerProcess server("-m " + kModel + " --port 0");
  ASSERT_GT(server.port(), 0) << server.output();
  auto c = test::server_client(server.port(), "");
  int status = 0;
  const json r = post(
      c, "/v1/chat/completions",
      {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"lag", {{"k", 1}}}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["error"]["code"], "no_log_store");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--store"), std::string::npos);
  EXPECT_EQ(get(c, "/v1/logs", &status)["error"]["code"], "no_log_store");
  EXPECT_EQ(status, 400);
  // A chat without the field is answered as before.
  post(c, "/v1/chat/completions",
       {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"max_tokens", 2}}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

// The end-to-end check: an agent written against the official `openai` SDK saves a finished task
// through `lag.save` (only its final answer is saved, not its tool-calling steps), and a related task that
// retrieves it takes fewer steps than the same task without logs, the response naming the saved log.
TEST(ServerLagAgent, AnOpenAiSdkAgentSavesATaskAndARelatedTaskTakesFewerSteps) {
  if (!fs::exists(kClients / "node_modules/openai"))
    LAGVK_REFERENCE_MISSING("the openai npm SDK is not installed: run scripts/setup_server_clients.sh");
  const test::ScratchDir dir("server_lag_agent");
  json cases = json::array();
  for (const auto& [seen, unseen] : {std::pair{"seen-93", "unseen-46"}, std::pair{"seen-74", "unseen-12"}})
    cases.push_back({{"first", question(seen)}, {"related", question(unseen)}});
  const fs::path case_file = dir.path() / "cases.json";
  std::ofstream(case_file) << cases.dump();
  test::ServerProcess server("-m " + kModel + " --port 0 --store '" + (dir.path() / "store").string() + "'");
  ASSERT_GT(server.port(), 0) << server.output();
  const auto r = test::run_shell(
      "cd " + kClients.string() + " && LAGVK_URL=http://127.0.0.1:" + std::to_string(server.port()) +
      "/v1 LAGVK_KB=" + kAssets + "/multihop/world.json LAGVK_CASES=" + case_file.string() +
      " node --test --test-reporter=spec lag_agent.test.mjs 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("pass 2"), std::string::npos) << r.out;
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

}  // namespace
}  // namespace lagvk
