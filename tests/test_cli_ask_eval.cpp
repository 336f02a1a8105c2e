// 'lagvk ask' and 'lagvk eval' end to end: every log mode, retrieval (BM25 and dense), tags, --save,
// the agent loop with its lookup tool, and eval's text and JSON reports over the multihop suite, each
// checked for what it means (dense retrieval ranks a log whose task is the question first with cosine 1,
// the agent's tool answers are the knowledge base's facts, eval reports the rows and limits it was given).
// The eval runs are kept to one question and two seen tasks: a full run takes minutes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::CliCase;
using test::JsonType;
using test::kExitError;
using test::kExitOk;

const std::string kAssets = LAGVK_SOURCE_DIR "/assets";

const std::vector<test::JsonField> kAskJson = {{"/answer", JsonType::string},
                                               {"/tokens", JsonType::array},
                                               {"/stop_reason", JsonType::string},
                                               {"/mode", JsonType::string},
                                               {"/logs", JsonType::array},
                                               {"/skipped_logs", JsonType::array},
                                               {"/seed", JsonType::integer},
                                               {"/timings/load_ms", JsonType::number},
                                               {"/timings/logs_ms", JsonType::number},
                                               {"/timings/prompt_prefill_ms", JsonType::number},
                                               {"/timings/time_to_first_token_ms", JsonType::number},
                                               {"/timings/decode_tokens_per_s", JsonType::number}};

class CliAskEval : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(test::lagvk_binary())) return;
    scratch_.emplace("cli_ask_eval");
    dir_ = scratch_->path();
    values_ = {{"dir", dir_.string()},
               {"model", (dir_ / "m.gguf").string()},
               {"store", (dir_ / "store").string()},
               {"plain", (dir_ / "plain").string()},
               {"multihop", kAssets + "/models/multihop-q8_0.gguf"},
               {"suite", kAssets + "/multihop"}};
    std::ofstream(dir_ / "traces.jsonl")
        << R"({"task": "who directed the glass harbor", "messages": [{"role": "user", "content": "who directed the glass harbor"}, {"role": "assistant", "content": "mara ellison"}], "tags": ["film"]})"
           "\n"
        << R"({"task": "where was mara ellison born", "messages": [{"role": "user", "content": "where was mara ellison born"}, {"role": "assistant", "content": "port alden"}], "tags": ["person"]})"
           "\n"
        << R"({"task": "which country is port alden in", "messages": [{"role": "user", "content": "which country is port alden in"}, {"role": "assistant", "content": "veloria"}], "tags": ["place"]})"
           "\n";
    // store: logs with embeddings (dense retrieval); plain: the same logs without.
    test::run_cases(
        {{"model",
          "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 -o {model}",
          kExitOk,
          {"wrote"}},
         {"store", "log add -s {store} -m {model} -t {dir}/traces.jsonl --embed", kExitOk, {"added log 3"}},
         {"plain store", "log add -s {plain} -m {model} -t {dir}/traces.jsonl", kExitOk, {"added log 3"}}},
        values_);
  }
  static void TearDownTestSuite() { scratch_.reset(); }
  void SetUp() override {
    if (!fs::exists(test::lagvk_binary())) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  }
  static nlohmann::json ask(const std::string& name, const std::string& args) {
    return test::run_case({name, args, kExitOk, {}, kAskJson}, values_).json;
  }
  static std::vector<int> log_ids(const nlohmann::json& logs) {
    std::vector<int> out;
    for (const auto& l : logs) out.push_back(l["id"].get<int>());
    return out;
  }
  static inline std::optional<test::ScratchDir> scratch_;
  static inline fs::path dir_;
  static inline test::Placeholders values_;
};

TEST_F(CliAskEval, LogModesPlaceTheRetrievedLogs) {
  // Log 2's task shares four words with the question, log 3's two, log 1's none.
  const std::string q = " 'was mara ellison born in port alden'";
  const auto kv = ask("kv", "ask -m {model} --store {store} --logs kv -k 2 -n 3 --json" + q);
  EXPECT_EQ(kv["mode"], "kv");
  ASSERT_EQ(kv["logs"].size(), 2u);
  // BM25: the log whose task is the question ranks first.
  EXPECT_EQ(kv["logs"][0]["id"], 2);
  EXPECT_EQ(kv["logs"][0]["task"], "where was mara ellison born");
  EXPECT_EQ(kv["logs"][1]["id"], 3);
  EXPECT_EQ(kv["logs"][0]["first_position"], 0);
  EXPECT_EQ(kv["logs"][1]["first_position"], kv["logs"][0]["tokens"]) << "placed one after the other";
  const auto text = ask("text", "ask --model {model} -s {store} --logs text -k 2 -n 3 --json" + q);
  EXPECT_EQ(text["mode"], "text");
  EXPECT_EQ(log_ids(text["logs"]), log_ids(kv["logs"]));
  const auto none = ask("none", "ask -m {model} -s {store} --logs none -n 3 --json" + q);
  EXPECT_EQ(none["mode"], "none");
  EXPECT_TRUE(none["logs"].empty());
  // -k bounds the logs; --tag keeps only logs with the tag.
  EXPECT_EQ(ask("-k 1", "ask -m {model} -s {store} -k 1 -n 1 --json" + q)["logs"].size(), 1u);
  const auto tagged = ask("--tag", "ask -m {model} -s {store} -k 3 --tag place -n 1 --json" + q);
  EXPECT_EQ(log_ids(tagged["logs"]), (std::vector<int>{3})) << "log 2 ranks first without the tag";
  // Text output: the logs on stderr, then the answer and the statistics.
  test::run_case({"text output",
                  "ask -m {model} -s {store} -k 2 -n 3 --temp 0" + q,
                  kExitOk,
                  {"[log 2 score ", "tokens at 0..: where was mara ellison born]", "[log 3 score ",
                   "[2 logs (kv), time to first token "}},
                 values_);
  test::run_cases(
      {{"bad mode", "ask -m {model} -s {store} --logs maybe" + q, kExitError, {"error: ", "maybe"}},
       {"no question",
        "ask -m {model} -s {store}",
        kExitError,
        {"error: ask: give the question as the last argument"}},
       {"no store", "ask -m {model}" + q, kExitError, {"error: ask: -m MODEL and --store DIR are required"}},
       {"missing store", "ask -m {model} -s {dir}/none" + q, kExitError, {"error: ", "no log store"}},
       // The library's message names no flag; the CLI's hint line does.
       {"another model's store",
        "ask -m {multihop} -s {store}" + q,
        kExitError,
        {"error: ", "was made with another model",
         "\nhint: a store belongs to the model that made it: give "
         "this model another --store directory"}}},
      values_);
}

TEST_F(CliAskEval, DenseRetrievalRanksTheSameTextFirstWithCosineOne) {
  for (const std::string q : {"where was mara ellison born", "which country is port alden in"}) {
    const auto j = ask("dense", "ask -m {model} -s {store} --retrieval dense -k 3 -n 1 --json '" + q + "'");
    ASSERT_EQ(j["logs"].size(), 3u) << j.dump();
    EXPECT_EQ(j["logs"][0]["task"], q);
    // The question's embedding is the log's (the same text through the same model): cosine 1.
    EXPECT_NEAR(j["logs"][0]["score"].get<double>(), 1.0, 1e-4);
    for (std::size_t i = 1; i < 3; ++i) {
      EXPECT_LT(j["logs"][i]["score"].get<double>(), j["logs"][0]["score"].get<double>() - 1e-3) << j.dump();
      EXPECT_LE(j["logs"][i]["score"].get<double>(), j["logs"][i - 1]["score"].get<double>());
    }
  }
  test::run_case({"bad retrieval",
                  "ask -m {model} -s {store} --retrieval fuzzy q",
                  kExitError,
                  {"error: ask: --retrieval must be bm25 or dense"}},
                 values_);
}

TEST_F(CliAskEval, DenseRetrievalNeedsLogsWithVectors) {
  // A store whose logs were added without --embed has nothing dense retrieval could find: an error
  // that says what to do, not an empty answer.
  test::run_case({"dense over a store without vectors",
                  "ask -m {model} -s {plain} --retrieval dense -k 3 -n 1 'where was mara ellison born'",
                  kExitError,
                  {"error: ask --retrieval dense: no log in the store '", "has a dense vector",
                   "lagvk log add --embed"}},
                 values_);
  // A store where some logs have vectors retrieves among those alone.
  std::ofstream(dir_ / "one.jsonl")
      << R"({"task": "who wrote the salt road", "messages": [{"role": "user", "content": "who wrote the salt road"}, {"role": "assistant", "content": "ines"}]})"
         "\n";
  test::run_cases(
      {{"mixed store", "log add -s {dir}/mixed -m {model} -t {dir}/traces.jsonl", kExitOk, {"added log 3"}},
       {"one log with a vector",
        "log add -s {dir}/mixed -m {model} -t {dir}/one.jsonl --embed",
        kExitOk,
        {"added log 4"}}},
      values_);
  const auto j = ask("dense among some",
                     "ask -m {model} -s {dir}/mixed --retrieval dense -k 3 -n 1 --json "
                     "'where was mara ellison born'");
  ASSERT_EQ(j["logs"].size(), 1u) << j.dump();
  EXPECT_EQ(j["logs"][0]["id"], 4);
}

TEST_F(CliAskEval, SamplingFlagsAndSave) {
  const std::string q = " 'who directed the glass harbor'";
  const std::string sample =
      "ask -m {model} -s {store} -n 6 --temp 1.2 --top-k 0 --top-p 1 --min-p 0 --repeat-penalty 1.1 "
      "--ignore-eos --json --seed ";
  const auto a = ask("seed 5", sample + "5" + q), b = ask("seed 5 again", sample + "5" + q);
  EXPECT_EQ(a["seed"], 5);
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_EQ(a["tokens"].size(), 6u);
  // Greedy unless --temp is given: the same answer whatever the seed.
  EXPECT_EQ(
      ask("greedy", "ask -m {model} -s {store} -n 4 --seed 1 --json" + q)["tokens"],
      ask("greedy", "ask -m {model} -s {store} --n-predict 4 --seed 2 --ctx 256 -d 0 --json" + q)["tokens"]);
  EXPECT_EQ(ask("greedy", "ask -m {model} -s {store} -n 4 --seed 1 --json" + q)["tokens"],
            ask("--temp 0", "ask -m {model} -s {store} -n 4 --temp 0 --device 0 --json" + q)["tokens"]);

  // --save stores the finished task as a new log with the selection asked for.
  fs::copy(dir_ / "store", dir_ / "save", fs::copy_options::recursive);
  const auto saved = test::run_case({"--save",
                                     "ask -m {model} -s {dir}/save -n 4 --save --json" + q,
                                     kExitOk,
                                     {},
                                     {{"/saved_log", JsonType::integer}}},
                                    values_)
                         .json;
  EXPECT_EQ(saved["saved_log"], 4);
  const auto all = test::run_case({"--save --select all",
                                   "ask -m {model} -s {dir}/save -n 4 --save --select all --json" + q,
                                   kExitOk,
                                   {},
                                   {{"/saved_log", JsonType::integer}}},
                                  values_)
                       .json;
  EXPECT_EQ(all["saved_log"], 5);
  const auto rows =
      test::run_case({"ls", "log ls --json -s {dir}/save", kExitOk, {}, {{"/4/selection", JsonType::string}}},
                     values_)
          .json;
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3]["task"], "who directed the glass harbor");
  EXPECT_EQ(rows[3]["selection"], "last");
  EXPECT_EQ(rows[4]["selection"], "all");
  test::run_case(
      {"--save text", "ask -m {model} -s {dir}/save -n 2 --save" + q, kExitOk, {"; saved as log 6]"}},
      values_);
  test::run_case({"--save new store, --index",
                  "ask -m {model} -s {dir}/new-ix --logs none -n 2 --save --index task+response" + q,
                  kExitOk,
                  {"saved as log 1"}},
                 values_);
  test::run_case({"--save new store",
                  "ask -m {model} -s {dir}/new --logs none -n 2 --save --json" + q,
                  kExitOk,
                  {},
                  {{"/saved_log", JsonType::integer}}},
                 values_);
  test::run_case({"verify", "log verify -s {dir}/new", kExitOk, {"ok: 1 logs"}}, values_);
}

// The agent on the shipped multihop model, with the suite's world as its knowledge base: every lookup the
// model writes is answered with the world's fact.
TEST_F(CliAskEval, AgentLooksUpTheKnowledgeBase) {
  test::run_case({"multihop store",
                  "log add -s {dir}/mh -m {multihop} -t {dir}/seen.jsonl --json",
                  kExitOk,
                  {},
                  {{"/added/0/id", JsonType::integer}}},
                 [&] {
                   std::ifstream in(kAssets + "/multihop/seen-gold-traces.jsonl");
                   std::string first;
                   std::getline(in, first);
                   std::ofstream(dir_ / "seen.jsonl") << first << "\n";
                   return values_;
                 }());
  std::map<std::pair<std::string, std::string>, std::string> facts;
  std::ifstream world(kAssets + "/multihop/world.json");
  // Parsed into a variable: a range-for over parse(...)["facts"] would outlive the parsed document.
  const auto world_json = nlohmann::json::parse(world);
  for (const auto& f : world_json["facts"])
    facts[{f["relation"].get<std::string>(), f["subject"].get<std::string>()}] =
        f["object"].get<std::string>();

  const auto j =
      test::run_case({"--agent",
                      "ask -m {multihop} -s {dir}/mh --agent --kb {suite}/world.json --max-steps 2 "
                      "--max-logs 1 -k 1 -n 32 "
                      "--json 'What is the employer of the father of the mayor of the capital of Pelwyn?'",
                      kExitOk,
                      {},
                      {{"/steps", JsonType::array},
                       {"/step_count", JsonType::integer},
                       {"/logs", JsonType::array},
                       {"/skipped_logs", JsonType::array},
                       {"/mode", JsonType::string},
                       {"/steps/0/output", JsonType::string},
                       {"/steps/0/observation", JsonType::string},
                       {"/steps/0/new_logs", JsonType::array},
                       {"/steps/0/time_to_first_token_ms", JsonType::number}}},
                     values_)
          .json;
  ASSERT_TRUE(j.is_object());
  ASSERT_GE(j["steps"].size(), 1u);
  EXPECT_LE(j["steps"].size(), 2u) << "--max-steps 2";
  EXPECT_EQ(j["step_count"], j["steps"].size());
  // An answer is the one the last step gave; without one the steps ran out.
  if (j["answer"].is_string()) {
    EXPECT_NE(
        j["steps"].back()["output"].get<std::string>().find("Answer: " + j["answer"].get<std::string>()),
        std::string::npos)
        << j.dump(2);
  } else {
    EXPECT_TRUE(j["answer"].is_null()) << j.dump(2);
    EXPECT_EQ(j["steps"].size(), 2u);
  }
  EXPECT_LE(j["logs"].size(), 1u);
  std::size_t lookups = 0;
  // "Action: lookup(RELATION, SUBJECT)", read by hand (std::regex trips GCC 12's -Wmaybe-uninitialized
  // in the sanitizer build).
  const auto parse_lookup =
      [](const std::string& text) -> std::optional<std::pair<std::string, std::string>> {
    constexpr std::string_view kOpen = "Action: lookup(";
    const auto open = text.find(kOpen);
    if (open == std::string::npos) return std::nullopt;
    const auto start = open + kOpen.size();
    const auto comma = text.find(", ", start);
    const auto close = text.find(')', start);
    if (comma == std::string::npos || close == std::string::npos || comma > close) return std::nullopt;
    return std::pair{text.substr(start, comma - start), text.substr(comma + 2, close - comma - 2)};
  };
  for (const auto& s : j["steps"]) {
    const auto output = s["output"].get<std::string>();
    const auto lookup = parse_lookup(output);
    if (!lookup) continue;
    const auto& [relation, subject] = *lookup;
    const auto fact = facts.find({relation, subject});
    const std::string expected = fact == facts.end() ? "no fact " + subject + " " + relation
                                                     : subject + " " + relation + " " + fact->second;
    EXPECT_EQ(s["observation"], expected) << output;
    ++lookups;
  }
  EXPECT_GT(lookups, 0u) << j.dump(2);
  test::run_case({"--agent text",
                  "ask -m {multihop} -s {dir}/mh --agent --kb {suite}/world.json --max-steps 1 -n 32 "
                  "'What is the employer of the father of the mayor of the capital of Pelwyn?'",
                  kExitOk,
                  {"step: ", "  tool: ", "answer: (none within the step limit)", "[1 steps, "}},
                 values_);
  // An unanswered task is not saved: its trace would lead later tasks nowhere.
  const auto before =
      test::run_case({"ls", "log ls --json -s {dir}/mh", kExitOk, {}, {{"/0/id", JsonType::integer}}},
                     values_)
          .json.size();
  test::run_case({"--agent --save unanswered",
                  "ask -m {multihop} -s {dir}/mh --agent --kb {suite}/world.json --max-steps 1 -n 32 --save "
                  "'What is the employer of the father of the mayor of the capital of Pelwyn?'",
                  kExitOk,
                  {"answer: (none within the step limit)", "not saved: no answer]"}},
                 values_);
  EXPECT_EQ(test::run_case({"ls", "log ls --json -s {dir}/mh", kExitOk, {}, {{"/0/id", JsonType::integer}}},
                           values_)
                .json.size(),
            before);
  // An answered one is (a 2-hop question of the seen split: the model answers those without logs).
  test::run_case({"--agent --save answered",
                  "ask -m {multihop} -s {dir}/mh --agent --kb {suite}/world.json --logs none --max-steps 8 "
                  "-n 48 --save 'What is the mayor of the capital of Limkin?'",
                  kExitOk,
                  {"answer: Nelvek", "saved as log"}},
                 values_);
  EXPECT_EQ(test::run_case({"ls", "log ls --json -s {dir}/mh", kExitOk, {}, {{"/0/id", JsonType::integer}}},
                           values_)
                .json.size(),
            before + 1);
  test::run_cases({{"missing kb",
                    "ask -m {multihop} -s {dir}/mh --agent --kb {dir}/none.json q",
                    kExitError,
                    {"error: ", "none.json"}},
                   {"--max-steps 0",
                    "ask -m {multihop} -s {dir}/mh --agent --max-steps 0 q",
                    kExitError,
                    {"error: lagvk ask: option --max-steps expects an integer from 1 to"}}},
                  values_);
}

TEST_F(CliAskEval, EvalReportsTheRowsAndLimitsAsked) {
  test::run_case({"eval text",
                  "eval -m {multihop} --split seen --limit 1 --store-limit 2 --max-steps 2 --store-max-steps "
                  "2 --modes text-last,kv-all --index task+response",
                  kExitOk,
                  {"logs: 2 seen tasks run without logs", "seen     text logs, last response             1",
                   "seen     KV logs, all responses               1", "(step limit ",
                   "BM25 over the logs' tasks and last responses)"},
                  {},
                  // Its stderr is a pipe: no progress bar (tools/lagvk/progress.hpp) reaches it.
                  {"\r", "running the seen tasks", "seen/text-last", "loading "}},
                 values_);
  fs::create_directories(dir_ / "work");
  const auto j =
      test::run_case(
          {"eval json",
           "eval --model {multihop} --suite multihop --suite-dir {suite} --split both --limit 1 "
           "--store-limit 2 "
           "--modes none,kv-all --max-steps 2 --store-max-steps 3 -k 2 --max-logs 2 --work-dir {dir}/work "
           "--ctx 1024 --device 0 --details --json",
           kExitOk,
           {},
           {{"/suite", JsonType::string},
            {"/model", JsonType::string},
            {"/max_steps", JsonType::integer},
            {"/k", JsonType::integer},
            {"/max_logs", JsonType::integer},
            {"/logs/tasks", JsonType::integer},
            {"/logs/answered", JsonType::integer},
            {"/logs/correct", JsonType::integer},
            {"/logs/store_max_steps", JsonType::integer},
            {"/logs/seconds", JsonType::number},
            {"/rows", JsonType::array},
            {"/rows/0/split", JsonType::string},
            {"/rows/0/mode", JsonType::string},
            {"/rows/0/questions", JsonType::integer},
            {"/rows/0/exact_match", JsonType::number},
            {"/rows/0/mean_steps", JsonType::number},
            {"/rows/0/details/0/question", JsonType::string},
            {"/rows/0/details/0/gold", JsonType::string},
            {"/rows/0/details/0/correct", JsonType::boolean},
            {"/rows/0/details/0/transcript", JsonType::array}}},
          values_)
          .json;
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["max_steps"], 2);
  EXPECT_EQ(j["k"], 2);
  EXPECT_EQ(j["max_logs"], 2);
  EXPECT_EQ(j["logs"]["tasks"], 2);
  EXPECT_EQ(j["logs"]["store_max_steps"], 3);
  // --split both: each split answered in each mode, one question each (--limit 1).
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& r : j["rows"]) {
    rows.emplace_back(r["split"], r["mode"]);
    EXPECT_EQ(r["questions"], 1);
    EXPECT_LE(r["mean_steps"].get<double>(), 2.0) << "--max-steps 2";
    EXPECT_LE(r["mean_logs"].get<double>(), 2.0) << "--max-logs 2";
    ASSERT_EQ(r["details"].size(), 1u);
    EXPECT_EQ(r["details"][0]["correct"].get<bool>(), r["exact_match"].get<double>() == 100.0);
    if (r["mode"] == "none") {
      EXPECT_EQ(r["details"][0]["logs"], 0);
    }
  }
  EXPECT_EQ(rows, (std::vector<std::pair<std::string, std::string>>{
                      {"unseen", "none"}, {"unseen", "kv-all"}, {"seen", "none"}, {"seen", "kv-all"}}));
  EXPECT_TRUE(fs::is_empty(dir_ / "work")) << "the scratch stores are removed";
  test::run_cases(
      {{"bad split",
        "eval -m {multihop} -d 0 --split sideways",
        kExitError,
        {"error: lagvk eval: --split must be unseen, seen or both, not 'sideways'"}},
       {"bad suite",
        "eval -m {multihop} --suite other",
        kExitError,
        {"error: lagvk eval: unknown suite 'other'"}},
       {"bad mode", "eval -m {multihop} --modes none,kv-first", kExitError, {"error: ", "kv-first"}},
       {"bad suite dir",
        "eval -m {multihop} --suite-dir {dir}/none --limit 1",
        kExitError,
        {"error: ", "none"}},
       {"no model", "eval --limit 1", kExitError, {"error: lagvk eval: give the model with -m FILE"}}},
      values_);
}

}  // namespace
}  // namespace lagvk
