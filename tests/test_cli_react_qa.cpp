// 'lagvk ask --react' and 'lagvk eval --suite qa' end to end on tests/qa_fixture with a small random model:
// every flag of the general agent and of the QA suite, the reports' shape and arithmetic (EM and F1 agree
// with each question's details; the rows are the modes asked, one question each under --limit 1), and the
// errors for bad tools, missing or malformed data and options that belong to the other suite. A random
// model writes noise: what the agent answers is not checked here (test_react_agent checks the loop's
// pieces, and the runner with a scripted agent).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::JsonType;
using test::kExitError;
using test::kExitOk;

class CliReactQa : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(test::lagvk_binary())) return;
    scratch_.emplace("cli_react_qa");
    const fs::path dir = scratch_->path();
    values_ = {{"dir", dir.string()},
               {"model", (dir / "m.gguf").string()},
               {"fixture", LAGVK_SOURCE_DIR "/tests/qa_fixture"}};
    std::ofstream(dir / "tool.sh") << "cat > /dev/null\necho '{\"output\": \"fine\"}'\n";
    std::ofstream(dir / "unseen.jsonl") << R"({"question": "Who?", "answer": "Nobody"})"
                                        << "\n";
    std::ofstream(dir / "bad.jsonl") << R"({"question": "Who?", "answers": ["A"]})"
                                     << "\n"
                                     << R"({"question": "Where?"})"
                                     << "\n";
    test::run_case({"model",
                    "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 -o {model}",
                    kExitOk,
                    {"wrote"}},
                   values_);
  }
  static void TearDownTestSuite() { scratch_.reset(); }
  void SetUp() override {
    if (!fs::exists(test::lagvk_binary())) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  }
  static inline std::optional<test::ScratchDir> scratch_;
  static inline test::Placeholders values_;
};

TEST_F(CliReactQa, AskReactRunsTheAgentWithItsTools) {
  const auto j =
      test::run_case({"--react",
                      "ask -m {model} -s {dir}/store --save --react --docs {fixture}/passages.jsonl "
                      "--tool 'echo=sh {dir}/tool.sh' --tool-timeout 500 --max-steps 2 -n 4 --json "
                      "'Who designed the Brannock Bridge?'",
                      kExitOk,
                      {},
                      {{"/steps", JsonType::array},
                       {"/step_count", JsonType::integer},
                       {"/steps/0/output", JsonType::string},
                       {"/steps/0/observation", JsonType::string}}},
                     values_)
          .json;
  ASSERT_TRUE(j.is_object());
  // --save keeps only an answered task (a random model seldom answers in two steps).
  EXPECT_EQ(j.contains("saved_log"), j["answer"].is_string()) << j.dump(2);
  EXPECT_LE(j["steps"].size(), 2u) << "--max-steps 2";
  EXPECT_EQ(j["step_count"], j["steps"].size());
  // The tool flags alone choose the ReAct agent too; its table output names the steps.
  test::run_case({"--docs without --react",
                  "ask -m {model} -s {dir}/store --docs {fixture}/passages.jsonl --max-steps 1 -n 2 'Who?'",
                  kExitOk,
                  {"step: ", "  tool: ", "[1 steps, "}},
                 values_);
  test::run_cases(
      {{"bad tool spec",
        "ask -m {model} -s {dir}/store --tool 'no command' q",
        kExitError,
        {"error: --tool 'no command': give NAME=COMMAND"}},
       {"no tool",
        "ask -m {model} -s {dir}/store --react q",
        kExitError,
        {"error: ask --react: give the agent a tool"}},
       {"same name twice",
        "ask -m {model} -s {dir}/store --docs {fixture}/passages.jsonl --tool 'search=true' q",
        kExitError,
        {"error: --tool search: a tool of that name is already given"}},
       {"missing docs",
        "ask -m {model} -s {dir}/store --docs {dir}/none.jsonl q",
        kExitError,
        {"error: --docs '", "none.jsonl': no such file"}},
       {"--agent and --react",
        "ask -m {model} -s {dir}/store --agent --react q",
        kExitError,
        {"error: ask: --agent (the multihop agent) and --react (the general agent) exclude each other"}},
       {"bad timeout",
        "ask -m {model} -s {dir}/store --react --tool-timeout 0 q",
        kExitError,
        {"error: ", "--tool-timeout"}}},
      values_);
}

TEST_F(CliReactQa, EvalQaReportsEveryModeAskedWithEmAndF1) {
  const auto j =
      test::run_case(
          {"eval --suite qa",
           "eval -m {model} --suite qa --data {fixture}/questions.jsonl --docs {fixture}/passages.jsonl "
           "--limit 1 --store-limit 1 --max-steps 1 --store-max-steps 1 --step-tokens 4 "
           "--modes none,kv-last,cache --details --json",
           kExitOk,
           {},
           {{"/suite", JsonType::string},
            {"/max_steps", JsonType::integer},
            {"/logs/tasks", JsonType::integer},
            {"/rows/0/f1", JsonType::number},
            {"/rows/0/details/0/f1", JsonType::number},
            {"/rows/0/details/0/gold", JsonType::string}}},
          values_)
          .json;
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["suite"], "qa");
  EXPECT_EQ(j["max_steps"], 1);
  EXPECT_EQ(j["logs"]["tasks"], 1) << "--store-limit 1";
  EXPECT_EQ(j["logs"]["store_max_steps"], 1);
  std::vector<std::string> modes;
  for (const auto& r : j["rows"]) {
    modes.push_back(r["mode"]);
    EXPECT_EQ(r["split"], "unseen");
    EXPECT_EQ(r["questions"], 1) << "--limit 1";
    ASSERT_EQ(r["details"].size(), 1u);
    const auto& d = r["details"][0];
    EXPECT_EQ(d["question"], "Where was the governor of Ostrand born?");  // the first unseen question
    EXPECT_EQ(d["gold"], "Kessing");
    EXPECT_DOUBLE_EQ(r["exact_match"].get<double>(), d["correct"].get<bool>() ? 100.0 : 0.0);
    EXPECT_DOUBLE_EQ(r["f1"].get<double>(), 100.0 * d["f1"].get<double>());
    EXPECT_LE(r["mean_steps"].get<double>(), 1.0) << "--max-steps 1";
    if (r["mode"] == "cache") {
      EXPECT_EQ(r["mean_steps"], 0.0) << "the semantic cache runs no agent";
    }
  }
  EXPECT_EQ(modes, (std::vector<std::string>{"none", "kv-last", "cache"}));
  test::run_case({"eval --suite qa table",
                  "eval -m {model} --suite qa --data {dir}/unseen.jsonl --docs {fixture}/passages.jsonl "
                  "--modes none --max-steps 1 --step-tokens 2",
                  kExitOk,
                  {"EM %    F1 %", "unseen   no logs                              1     0.0     0.0",
                   "EM and F1 with the SQuAD normalisation"}},
                 values_);
  test::run_cases(
      {{"qa without data",
        "eval -m {model} --suite qa --docs {fixture}/passages.jsonl",
        kExitError,
        {"error: lagvk eval --suite qa: give the questions with --data FILE and the passages with --docs "
         "FILE"}},
       {"missing data",
        "eval -m {model} --suite qa --data {dir}/none.jsonl --docs {fixture}/passages.jsonl",
        kExitError,
        {"error: --data '", "none.jsonl': no such file"}},
       {"bad data line",
        "eval -m {model} --suite qa --data {dir}/bad.jsonl --docs {fixture}/passages.jsonl",
        kExitError,
        {"error: '", "bad.jsonl' line 2: needs 'answers'"}},
       {"logs without seen questions",
        "eval -m {model} --suite qa --data {dir}/unseen.jsonl --docs {fixture}/passages.jsonl --modes "
        "kv-last",
        kExitError,
        {"error: eval --suite qa: mode 'kv-last' needs logs, and no question has \"split\": \"seen\""}},
       {"qa with --split seen",
        "eval -m {model} --suite qa --data {dir}/unseen.jsonl --docs {fixture}/passages.jsonl --split seen",
        kExitError,
        {"error: lagvk eval --suite qa: the unseen questions are answered"}},
       {"--data for multihop",
        "eval -m {model} --data {dir}/unseen.jsonl",
        kExitError,
        {"error: lagvk eval: --data and --docs are for --suite qa"}},
       {"--step-tokens for multihop",
        "eval -m {model} --step-tokens 3",
        kExitError,
        {"error: lagvk eval: --step-tokens is for --suite qa"}},
       {"bad mode",
        "eval -m {model} --modes kv-some",
        kExitError,
        {"error: unknown eval mode 'kv-some': use none, text-full, text-last, kv-last, kv-all, kv-answer, "
         "kv-full "
         "or cache"}}},
      values_);
}

}  // namespace
}  // namespace lagvk
