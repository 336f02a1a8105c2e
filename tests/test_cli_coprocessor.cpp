// The commands of cache augmentation end to end: 'coprocessor make' (untrained, and from trained weights),
// 'run --coprocessor', 'log add --coprocessor' (logs keep their latents; ls, show and verify count them),
// 'ask --coprocessor' (one answer, and the agents' steps) and 'eval --coprocessor' on the multihop suite
// (answering augmented at each step or at the prompt, and augmented logs), each with its refusals: another
// model's coprocessor, --latents without a coprocessor or beyond the file's, a file that is not a
// coprocessor.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/model/model.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/models.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

class CliCoprocessor : public ::testing::Test {
 protected:
  void SetUp() override {
    values_ = {{"decoder", (dir_.path() / "decoder.gguf").string()},
               {"other", (dir_.path() / "other.gguf").string()},
               {"made", (dir_.path() / "made.gguf").string()},
               {"store", (dir_.path() / "store").string()},
               {"traces", (dir_.path() / "traces.jsonl").string()},
               {"weights", (dir_.path() / "weights").string()},
               {"multihop", std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf"},
               {"multihop_made", (dir_.path() / "multihop-coprocessor.gguf").string()},
               {"kb", std::string(LAGVK_SOURCE_DIR) + "/assets/multihop/world.json"},
               {"passages", std::string(LAGVK_SOURCE_DIR) + "/tests/qa_fixture/passages.jsonl"}};
    make_random_model(small_model_spec(GgmlType::f16, 1)).write(values_["decoder"]);
    make_random_model(small_model_spec(GgmlType::f16, 2)).write(values_["other"]);
    std::ofstream(values_["traces"]) << R"({"task": "who directed the glass harbor", "messages": [)"
                                     << R"({"role": "user", "content": "who directed the glass harbor"}, )"
                                     << R"({"role": "assistant", "content": "Answer: Mara Ellison"}]})"
                                     << "\n";
  }

  ScratchDir dir_{"cli_coprocessor"};
  Placeholders values_;
};

TEST_F(CliCoprocessor, MakeRunAndLogAdd) {
  const CaseResult made = run_case({"make",
                                    "coprocessor make -m {decoder} --latents 6 --seed 9 -o {made}",
                                    kExitOk,
                                    {"an untrained coprocessor with 6 latents"}},
                                   values_);
  ASSERT_EQ(made.run.status, 0);
  const std::vector<JsonField> augmentation = {{"/augmentation/latents", JsonType::integer},
                                               {"/augmentation/ms", JsonType::number},
                                               {"/augmentation/coprocessor", JsonType::string}};
  const CaseResult all =
      run_case({"run, all latents",
                "run -m {decoder} --tokens 1,17,260 -n 4 --temp 0 --json --coprocessor {made}",
                kExitOk,
                {},
                augmentation},
               values_);
  EXPECT_EQ(all.json["augmentation"]["latents"], 6);
  EXPECT_EQ(all.json["tokens"].size(), 4u);
  const CaseResult two =
      run_case({"run, two latents",
                "run -m {decoder} --tokens 1,17,260 -n 4 --temp 0 --json --coprocessor {made} --latents 2",
                kExitOk,
                {},
                augmentation},
               values_);
  EXPECT_EQ(two.json["augmentation"]["latents"], 2);
  // The streamed form says what it appended.
  run_case({"run, streamed",
            "run -m {decoder} -p hello -n 2 --coprocessor {made}",
            kExitOk,
            {"augmented with 6 latents"}},
           values_);

  run_cases({{"another model's coprocessor",
              "run -m {other} --tokens 1,17,260 -n 4 --coprocessor {made}",
              kExitError,
              {"was trained for the decoder"}},
             {"--latents alone",
              "run -m {decoder} --tokens 1,17,260 -n 4 --latents 3",
              kExitError,
              {"--latents needs --coprocessor"}},
             {"too many latents",
              "run -m {decoder} --tokens 1,17,260 -n 4 --coprocessor {made} --latents 7",
              kExitError,
              {"exceeds the 6 soft tokens"}},
             {"not a coprocessor",
              "run -m {decoder} --tokens 1,17,260 -n 4 --coprocessor {other}",
              kExitError,
              {"is not a cache-augmentation coprocessor"}},
             {"make without -o", "coprocessor make -m {decoder}", kExitError, {"-o OUT.gguf are required"}},
             {"unknown verb", "coprocessor train", kExitError, {"unknown subcommand 'train'"}},
             {"make help", "coprocessor make --help", kExitOk, {"--latents", "--weights DIR"}}},
            values_);

  // log add keeps the latents after each log's tokens; ls, show and verify count them.
  const CaseResult added = run_case(
      {"log add",
       "log add --store {store} -m {decoder} --trace {traces} --coprocessor {made} --latents 4 --json",
       kExitOk,
       {},
       {{"/added/0/latents", JsonType::integer}}},
      values_);
  EXPECT_EQ(added.json["added"][0]["latents"], 4);
  run_cases({{"ls", "log ls --store {store}", kExitOk, {"+ 4 latents"}},
             {"show", "log show --store {store} 1", kExitOk, {"+ 4 cache-augmentation latents"}},
             {"verify", "log verify --store {store}", kExitOk, {}},
             {"log add, not a coprocessor",
              "log add --store {store} -m {decoder} --trace {traces} --coprocessor {other}",
              kExitError,
              {"is not a cache-augmentation coprocessor"}}},
            values_);
}

// 'coprocessor make --weights' writes what the trainer wrote (tools/train/coprocessor.py's layout:
// weights.json + weights.bin, every tensor in float32 and lagvk.soft_tokens): the trained values, in the
// decoder's tensor types, and the soft tokens.
TEST_F(CliCoprocessor, MakeFromTrainedWeights) {
  const Model decoder = Model::from_gguf(GgufFile::open(values_["decoder"]));
  const fs::path dir = values_["weights"];
  fs::create_directories(dir);
  nlohmann::json tensors = nlohmann::json::object();
  std::ofstream bin(dir / "weights.bin", std::ios::binary);
  std::uint64_t offset = 0;
  const auto put = [&](const std::string& name, std::vector<std::uint64_t> shape,
                       const std::vector<float>& v) {
    bin.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
    tensors[name] = {{"shape", shape}, {"offset", offset}};
    offset += v.size() * sizeof(float);
  };
  // Trained weights differ from the decoder's: every value doubled.
  for (const auto& t : decoder.gguf().tensors()) {
    std::vector<float> v = decoder.tensor(t.name).to_float();
    for (float& x : v) x *= 2.0f;
    put(t.name, t.dims, v);
  }
  const std::uint32_t dim = decoder.config().n_embd;
  std::vector<float> soft(std::size_t(dim) * 3);
  for (std::size_t i = 0; i < soft.size(); ++i) soft[i] = float(i % 17) * 0.125f - 1.0f;
  put("lagvk.soft_tokens", {dim, 3}, soft);
  bin.close();
  std::ofstream(dir / "weights.json") << nlohmann::json{
      {"format", "lagvk-weights-1"},
      {"config", nlohmann::json::object()},
      {"tensors", tensors}}.dump();

  const std::string out = (fs::path(values_["store"]).parent_path() / "trained.gguf").string();
  run_case({"make from weights",
            "coprocessor make -m {decoder} --weights {weights} -o " + out,
            kExitOk,
            {"a trained coprocessor with 3 latents"}},
           values_);
  const Model made = Model::from_gguf(GgufFile::open(out));
  for (const auto& t : decoder.gguf().tensors()) {
    const std::vector<float> want = decoder.tensor(t.name).to_float(), got = made.tensor(t.name).to_float();
    ASSERT_EQ(got.size(), want.size()) << t.name;
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], 2.0f * want[i]) << t.name << " [" << i << "]";
  }
  EXPECT_EQ(made.tensor("lagvk.soft_tokens").to_float(), soft);
  run_cases({{"weights and --latents",
              "coprocessor make -m {decoder} --weights {weights} --latents 2 -o " + out,
              kExitError,
              {"are for untrained coprocessors"}},
             {"the trained one runs",
              "run -m {decoder} --tokens 1,17 -n 2 --coprocessor " + out,
              kExitOk,
              {"augmented with 3 latents"}}},
            values_);
}

// The shipped coprocessor (assets/models/COPROCESSOR.md) belongs to the f16 decoder: it runs there with its
// 16 latents and is refused beside the q8_0 file, whose weights differ.
TEST_F(CliCoprocessor, TheShippedCoprocessorRunsBesideItsDecoderOnly) {
  values_["f16"] = std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-f16.gguf";
  values_["shipped"] = std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-coprocessor-16.gguf";
  run_cases({{"beside its decoder",
              "run -m {f16} --coprocessor {shipped} -p 'User: What is the capital of the country of Vorvek?' "
              "-n 4 --temp 0",
              kExitOk,
              {"augmented with 16 latents"}},
             {"beside the q8_0 file",
              "run -m {multihop} --coprocessor {shipped} -p 'User: hello' -n 4",
              kExitError,
              {"multihop-coprocessor-16.gguf"}}},
            values_);
}

// ask --coprocessor: one answer is augmented right after its prompt; the agents' turns at each step or at
// the question's prompt only.
TEST_F(CliCoprocessor, AskAugmentsTheAnswerAndTheAgentsSteps) {
  ASSERT_EQ(
      run_case({"make", "coprocessor make -m {decoder} --latents 6 --seed 5 -o {made}", kExitOk, {}}, values_)
          .run.status,
      0);
  ASSERT_EQ(
      run_case({"log add", "log add --store {store} -m {decoder} --trace {traces}", kExitOk, {}}, values_)
          .run.status,
      0);
  const std::vector<JsonField> fields = {{"/augmentation/latents", JsonType::integer},
                                         {"/augmentation/ms", JsonType::number},
                                         {"/tokens", JsonType::array}};
  // One answer (tests/test_coprocessor.cpp checks its tokens against the steps taken one by one).
  const CaseResult asked =
      run_case({"ask, one answer",
                "ask -m {decoder} -s {store} --logs none -n 6 --json --coprocessor {made} "
                "--latents 3 'who directed the glass harbor'",
                kExitOk,
                {},
                fields},
               values_);
  EXPECT_EQ(asked.json["augmentation"]["latents"], 3);
  // With logs (kv) the answer is augmented too, after the logs and the prompt; streamed, it says so.
  run_case({"ask with a log, streamed",
            "ask -m {decoder} -s {store} -n 3 --coprocessor {made} 'who directed the glass harbor'",
            kExitOk,
            {"augmented with 6 latents"}},
           values_);

  ASSERT_EQ(
      run_case(
          {"make for multihop", "coprocessor make -m {multihop} --latents 4 -o {multihop_made}", kExitOk, {}},
          values_)
          .run.status,
      0);
  const std::vector<JsonField> agent_fields = {{"/augmentation/latents", JsonType::integer},
                                               {"/step_count", JsonType::integer}};
  const CaseResult each =
      run_case({"agent, each step",
                "ask -m {multihop} -s {store}-multihop --save --agent --kb {kb} --json "
                "--coprocessor {multihop_made} 'What is the capital of the country of Ullor?'",
                kExitOk,
                {},
                agent_fields},
               values_);
  EXPECT_EQ(each.json["augmentation"]["latents"], 4 * each.json["step_count"].get<int>());
  const CaseResult first =
      run_case({"agent, the prompt only",
                "ask -m {multihop} -s {store}-multihop --agent --kb {kb} --json --coprocessor "
                "{multihop_made} --latents 2 --augment-at prompt 'Who founded Ullor?'",
                kExitOk,
                {},
                agent_fields},
               values_);
  EXPECT_EQ(first.json["augmentation"]["latents"], 2);
  const CaseResult react =
      run_case({"react agent, the prompt only",
                "ask -m {decoder} -s {store} --react --docs {passages} --max-steps 2 -n 4 --json "
                "--coprocessor {made} --augment-at prompt 'Who designed the Brannock Bridge?'",
                kExitOk,
                {},
                agent_fields},
               values_);
  EXPECT_EQ(react.json["augmentation"]["latents"], 6);

  run_cases({{"--augment-at for one answer",
              "ask -m {decoder} -s {store} --coprocessor {made} --augment-at prompt q",
              kExitError,
              {"--augment-at places the latents in an agent's steps"}},
             {"--augment-at without a coprocessor",
              "ask -m {decoder} -s {store} --agent --augment-at prompt q",
              kExitError,
              {"--augment-at needs --coprocessor"}},
             {"bad --augment-at",
              "ask -m {decoder} -s {store} --agent --coprocessor {made} --augment-at never q",
              kExitError,
              {"each-step or prompt"}},
             {"another model's coprocessor",
              "ask -m {other} -s {store} --coprocessor {made} q",
              kExitError,
              {"was trained for the decoder"}}},
            values_);
}

// eval --coprocessor on the multihop suite: the report says how answering and the logs were augmented.
TEST_F(CliCoprocessor, EvalAugmentsAnsweringAndLogs) {
  ASSERT_EQ(run_case({"make for multihop",
                      "coprocessor make -m {multihop} --latents 4 -o {multihop_made}",
                      kExitOk,
                      {"4 latents"}},
                     values_)
                .run.status,
            0);
  const std::vector<JsonField> fields = {{"/augmentation/answering", JsonType::string},
                                         {"/augmentation/logs", JsonType::boolean},
                                         {"/rows/0/exact_match", JsonType::number}};
  const CaseResult each = run_case(
      {"each step",
       "eval -m {multihop} --limit 2 --store-limit 2 --modes none --json --coprocessor {multihop_made}",
       kExitOk,
       {},
       fields},
      values_);
  EXPECT_EQ(each.json["augmentation"]["answering"], "each-step");
  EXPECT_EQ(each.json["augmentation"]["logs"], false);
  // Every step's turn got the 4 latents: at least one step per question, at most the step limit (4).
  const double each_latents = each.json["rows"][0]["mean_latents"];
  EXPECT_GE(each_latents, 4.0);
  EXPECT_EQ(std::fmod(each_latents * 2, 4.0), 0.0) << "two questions, 4 latents per step";
  const CaseResult logs = run_case(
      {"augmented logs, prompt",
       "eval -m {multihop} --limit 2 --store-limit 2 --modes kv-last --json --coprocessor {multihop_made} "
       "--augment-logs --augment-at prompt --latents 2",
       kExitOk,
       {},
       fields},
      values_);
  EXPECT_EQ(logs.json["augmentation"]["answering"], "prompt");
  EXPECT_EQ(logs.json["augmentation"]["logs"], true);
  EXPECT_EQ(logs.json["augmentation"]["latents"], 2);
  EXPECT_EQ(logs.json["rows"][0]["mean_latents"], 2.0) << "the question's prompt only";
  const CaseResult only_logs = run_case(
      {"augmented logs only",
       "eval -m {multihop} --limit 2 --store-limit 2 --modes kv-last --json --coprocessor {multihop_made} "
       "--augment-logs",
       kExitOk,
       {},
       fields},
      values_);
  EXPECT_EQ(only_logs.json["augmentation"]["answering"], "none");
  EXPECT_EQ(only_logs.json["rows"][0]["mean_latents"], 0.0);
  run_cases({{"--augment-at alone",
              "eval -m {multihop} --limit 1 --modes none --augment-at prompt",
              kExitError,
              {"need --coprocessor"}},
             {"bad --augment-at",
              "eval -m {multihop} --limit 1 --modes none --coprocessor {multihop_made} --augment-at never",
              kExitError,
              {"each-step or prompt"}},
             {"not a coprocessor",
              "eval -m {multihop} --limit 1 --modes none --coprocessor {multihop}",
              kExitError,
              {"is not a cache-augmentation coprocessor"}}},
            values_);
}

}  // namespace
}  // namespace lagvk::test
