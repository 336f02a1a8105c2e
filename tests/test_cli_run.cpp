// 'lagvk run' end to end: every prompt form (-p, --tokens, --chat with --system), streamed and JSON
// output, and every sampling flag, each checked for what it means: --seed repeats an output and another
// seed changes it, --top-k 1 is greedy, --tokens is the prompt tokenize gives, --ignore-eos runs past
// the end-of-generation token that stopped the same seed without it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
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

/// The fields every 'run --json' report has.
const std::vector<test::JsonField> kRunJson = {{"/tokens", JsonType::array},
                                               {"/text", JsonType::string},
                                               {"/prompt_tokens", JsonType::array},
                                               {"/chat_template", JsonType::string},
                                               {"/stop_reason", JsonType::string},
                                               {"/seed", JsonType::integer},
                                               {"/device", JsonType::string},
                                               {"/timings/load_ms", JsonType::number},
                                               {"/timings/prefill_ms", JsonType::number},
                                               {"/timings/decode_ms", JsonType::number},
                                               {"/timings/decode_tokens_per_s", JsonType::number},
                                               {"/timings/time_to_first_token_ms", JsonType::number}};

class CliRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(test::lagvk_binary())) return;
    scratch_.emplace("cli_run");
    dir_ = scratch_->path();
    values_ = {{"dir", dir_.string()},
               {"peaked", (dir_ / "peaked.gguf").string()},
               {"flat", (dir_ / "flat.gguf").string()}};
    // peaked: greedy-friendly, and (at seed 11) its greedy output repeats tokens; flat: near-uniform
    // next-token distributions over 260 tokens, so sampling depends on the seed and meets EOS by chance.
    test::run_cases(
        {{"peaked model",
          "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 --seed 11 -o {peaked}",
          kExitOk,
          {"wrote"}},
         {"flat model",
          "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 260 --logit-std 0.01 -o "
          "{flat}",
          kExitOk,
          {"wrote"}}},
        values_);
  }
  static void TearDownTestSuite() { scratch_.reset(); }
  void SetUp() override {
    if (!fs::exists(test::lagvk_binary())) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  }
  static nlohmann::json run_json(const std::string& name, const std::string& args) {
    return test::run_case({name, args, kExitOk, {}, kRunJson}, values_).json;
  }
  static inline std::optional<test::ScratchDir> scratch_;
  static inline fs::path dir_;
  static inline test::Placeholders values_;
};

// The issue #25 architectures end to end: make-model writes gemma2, gemma3 and phi3 models (windows shorter
// than the prompt) and lagvk run generates from them.
TEST_F(CliRun, GemmaAndPhi3ModelsRun) {
  const std::string shape = " --layers 2 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300";
  // --ignore-eos: a random model may well pick one of the families' end-of-turn tokens first.
  const std::string prompt = " -p 'one two three four five six seven eight' -n 4 --ignore-eos";
  test::run_cases(
      {{"gemma2 model",
        "make-model --arch gemma2" + shape + " --sliding-window 4 -o {dir}/gemma2.gguf",
        kExitOk,
        {"wrote", "gemma2"}},
       {"gemma2 run", "run -m {dir}/gemma2.gguf" + prompt, kExitOk, {"4 generated"}},
       {"gemma3 model",
        "make-model --arch gemma3" + shape + " --sliding-window 4 -o {dir}/gemma3.gguf",
        kExitOk,
        {"wrote", "gemma3"}},
       {"gemma3 run", "run -m {dir}/gemma3.gguf" + prompt, kExitOk, {"4 generated"}},
       {"phi3 model", "make-model --arch phi3" + shape + " -o {dir}/phi3.gguf", kExitOk, {"wrote", "phi3"}},
       {"phi3 run", "run -m {dir}/phi3.gguf" + prompt, kExitOk, {"4 generated"}}},
      values_);
}

TEST_F(CliRun, PlainPromptStreamsTheTextTheJsonReports) {
  // Streamed: the text on stdout, the statistics on stderr.
  test::run_case({"plain -p",
                  "run -m {peaked} -p 'the glass harbor' -n 6 --temp 0",
                  kExitOk,
                  {"[", " prompt tokens, ", "; 6 generated, ", "stop: max_tokens]"}},
                 values_);
  const auto streamed = test::run_lagvk(
      test::expand("run --model {peaked} --prompt 'the glass harbor' --n-predict 6 --temp 0", values_),
      false);
  ASSERT_EQ(streamed.status, kExitOk) << streamed.out;
  const auto j = run_json("json", "run -m {peaked} -p 'the glass harbor' -n 6 --temp 0 --json");
  EXPECT_EQ(j["tokens"].size(), 6u);
  EXPECT_EQ(j["stop_reason"], "max_tokens");
  EXPECT_EQ(j["chat_template"], "") << "no chat format for a plain prompt";
  // The stream is the generated text, then a newline.
  EXPECT_EQ(streamed.out, j["text"].get<std::string>() + "\n");
  // -n 0 generates nothing.
  EXPECT_TRUE(run_json("-n 0", "run -m {peaked} -p 'the glass harbor' -n 0 --json")["tokens"].empty());
}

TEST_F(CliRun, TokensIsThePromptTokenizeGives) {
  const auto bos = test::run_case({"tokenize --bos",
                                   "tokenize -m {peaked} --bos --json the glass harbor",
                                   kExitOk,
                                   {},
                                   {{"", JsonType::array}}},
                                  values_)
                       .json;
  const auto plain =
      test::run_case(
          {"tokenize", "tokenize -m {peaked} --json the glass harbor", kExitOk, {}, {{"", JsonType::array}}},
          values_)
          .json;
  // -p adds BOS as the model asks; --no-bos leaves it out.
  const auto text = run_json("-p", "run -m {peaked} -p 'the glass harbor' -n 5 --temp 0 --json");
  EXPECT_EQ(text["prompt_tokens"], bos);
  const auto no_bos =
      run_json("--no-bos", "run -m {peaked} -p 'the glass harbor' --no-bos -n 5 --temp 0 --json");
  EXPECT_EQ(no_bos["prompt_tokens"], plain);
  // --tokens with the same ids is the same prompt, so the same greedy continuation.
  std::string ids;
  for (const auto& id : bos) ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int>());
  const auto tokens = run_json("--tokens", "run -m {peaked} --tokens " + ids + " -n 5 --temp 0 --json");
  EXPECT_EQ(tokens["prompt_tokens"], bos);
  EXPECT_EQ(tokens["tokens"], text["tokens"]);
  test::run_cases({{"--tokens junk",
                    "run -m {peaked} --tokens 1,x,3 -n 1",
                    kExitError,
                    {"error: --tokens expects comma-separated token ids from 0 to 2147483647, got 'x'"}},
                   {"two prompts",
                    "run -m {peaked} -p hi --tokens 1,2",
                    kExitError,
                    {"error: run: give exactly one of -p TEXT, --tokens IDS or --chat TEXT"}},
                   {"no prompt", "run -m {peaked} -n 1", kExitError, {"error: run: give exactly one of"}},
                   {"no model", "run -p hi", kExitError, {"error: run: -m MODEL is required"}}},
                  values_);
}

TEST_F(CliRun, ChatAndSystemFormatTheTranscript) {
  test::run_case({"--chat text",
                  "run -m {peaked} --chat 'who directed it' -n 3 --temp 0",
                  kExitOk,
                  {"[chat format: plain]", "3 generated"}},
                 values_);
  const auto chat = run_json("--chat", "run -m {peaked} --chat 'who directed it' -n 3 --temp 0 --json");
  EXPECT_EQ(chat["chat_template"], "plain");
  const auto system = run_json(
      "--system", "run -m {peaked} --system 'be brief' --chat 'who directed it' -n 3 --temp 0 --json");
  const auto plain = run_json("-p", "run -m {peaked} -p 'who directed it' -n 3 --temp 0 --json");
  // The transcript wraps the message (and the system message before it) in the format's markup.
  EXPECT_GT(chat["prompt_tokens"].size(), plain["prompt_tokens"].size());
  EXPECT_GT(system["prompt_tokens"].size(), chat["prompt_tokens"].size());
  test::run_case({"--system without --chat",
                  "run -m {peaked} --system hi -p hi",
                  kExitError,
                  {"error: run: --system needs --chat"}},
                 values_);
}

TEST_F(CliRun, SeedRepeatsTheOutputAndAnotherSeedChangesIt) {
  const std::string sample =
      "run -m {flat} -p 'the glass harbor' -n 16 --temp 1 --top-k 0 --top-p 1 --min-p 0 --json ";
  const auto a = run_json("seed 7", sample + "--seed 7");
  const auto b = run_json("seed 7 again", sample + "--seed 7");
  EXPECT_EQ(a["seed"], 7);
  EXPECT_EQ(a["tokens"], b["tokens"]) << "the same seed gives the same output";
  const auto c = run_json("seed 8", sample + "--seed 8");
  EXPECT_EQ(c["seed"], 8);
  EXPECT_NE(a["tokens"], c["tokens"]) << "16 draws from near-uniform distributions over 260 tokens";
  // Without --seed a random seed is drawn, and reported.
  const auto r = run_json("random seed", sample);
  const auto again =
      run_json("the reported seed", sample + "--seed " + std::to_string(r["seed"].get<std::uint64_t>()));
  EXPECT_EQ(again["tokens"], r["tokens"]) << "the reported seed reproduces the run";
  test::run_case({"bad seed",
                  "run -m {flat} -p hi --seed -1",
                  kExitError,
                  {"error: lagvk run: option --seed expects an integer"}},
                 values_);
}

TEST_F(CliRun, SamplingFlagsThatKeepOneTokenAreGreedy) {
  const std::string base = "run -m {flat} -p 'the glass harbor' -n 12 --json --seed 3 ";
  const auto greedy = run_json("--temp 0", base + "--temp 0");
  // Each of these keeps only the most likely token, whatever the seed and temperature.
  for (const std::string keep_one :
       {"--temp 1.5 --top-k 1 --top-p 1 --min-p 0", "--temp 1.5 --top-k 0 --top-p 0.000001 --min-p 0",
        "--temp 1.5 --top-k 0 --top-p 1 --min-p 1"})
    EXPECT_EQ(run_json(keep_one, base + keep_one)["tokens"], greedy["tokens"]) << keep_one;
  // While sampling the full distribution does not.
  EXPECT_NE(run_json("full sampling", base + "--temp 1.5 --top-k 0 --top-p 1 --min-p 0")["tokens"],
            greedy["tokens"]);
  test::run_cases({{"--temp out of range",
                    "run -m {flat} -p hi --temp nan",
                    kExitError,
                    {"error: lagvk run: option --temp expects a number in [0, 100]"}},
                   {"--top-p 0",
                    "run -m {flat} -p hi --top-p 0",
                    kExitError,
                    {"error: lagvk run: option --top-p expects a number in (0, 1]"}},
                   {"--min-p 2",
                    "run -m {flat} -p hi --min-p 2",
                    kExitError,
                    {"error: lagvk run: option --min-p expects a number in [0, 1]"}},
                   {"--top-k -1",
                    "run -m {flat} -p hi --top-k -1",
                    kExitError,
                    {"error: lagvk run: option --top-k expects an integer"}},
                   {"--repeat-penalty 0",
                    "run -m {flat} -p hi --repeat-penalty 0",
                    kExitError,
                    {"error: lagvk run: option --repeat-penalty expects a number in (0, 100]"}}},
                  values_);
}

TEST_F(CliRun, RepeatPenaltyKeepsRecentTokensOut) {
  const std::string base = "run -m {peaked} -p 'the glass harbor' -n 24 --temp 0 --json ";
  const auto repeats = [](const nlohmann::json& j) {
    std::set<int> window;
    for (const auto& t : j["prompt_tokens"]) window.insert(t.get<int>());
    std::size_t n = 0;
    for (const auto& t : j["tokens"]) n += !window.insert(t.get<int>()).second;
    return n;
  };
  const auto free = run_json("no penalty", base + "--repeat-penalty 1");
  ASSERT_GT(repeats(free), 0u) << "this model's greedy output repeats tokens: " << free.dump();
  // At the largest penalty a token of the last 64 (the prompt's too) loses to any unpenalised token with
  // a positive logit.
  const auto penalised = run_json("penalty 100", base + "--repeat-penalty 100");
  EXPECT_EQ(repeats(penalised), 0u) << penalised.dump();
}

TEST_F(CliRun, IgnoreEosRunsPastTheEndOfGeneration) {
  const std::string base =
      "run -m {flat} -p hello -n 128 --temp 1 --top-k 0 --top-p 1 --min-p 0 --json --seed ";
  // Find a seed whose sample meets EOS (each does with probability about 0.4 on 260 flat tokens).
  for (int seed = 1; seed <= 30; ++seed) {
    const auto stopped = run_json("seed", base + std::to_string(seed));
    if (stopped["stop_reason"] != "end_of_generation") continue;
    const auto n = stopped["tokens"].size();
    EXPECT_LT(n, 128u);
    const auto past = run_json(
        "--ignore-eos",
        "run -m {flat} -p hello -n 128 --temp 1 --top-k 0 --top-p 1 --min-p 0 --json --ignore-eos --seed " +
            std::to_string(seed));
    EXPECT_EQ(past["stop_reason"], "max_tokens");
    ASSERT_EQ(past["tokens"].size(), 128u);
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(past["tokens"][i], stopped["tokens"][i]) << i;
    EXPECT_EQ(past["tokens"][n], 2)
        << "the EOS token (id 2) is generated where the run without the flag stopped";
    return;
  }
  FAIL() << "no seed of 30 met EOS";
}

TEST_F(CliRun, ContextAndDeviceFlags) {
  // --ctx bounds the sequence: generation stops when it is full.
  const auto full =
      run_json("--ctx", "run -m {peaked} -p 'the glass harbor' --ctx 24 -n 100 --temp 0 --json");
  EXPECT_EQ(full["stop_reason"], "context_full");
  // 24 positions hold the prompt and every generated token but the last, which is sampled from the
  // logits of the final position and never needs one.
  EXPECT_EQ(full["prompt_tokens"].size() + full["tokens"].size(), 25u);
  const auto devices =
      test::run_case({"devices", "devices --json", kExitOk, {}, {{"/chosen", JsonType::integer}}}).json;
  const int chosen = devices["chosen"].get<int>();
  const auto short_flag =
      run_json("-d", "run -m {peaked} -p hi -n 1 --temp 0 --json -d " + std::to_string(chosen));
  EXPECT_EQ(short_flag["device"], devices["devices"][chosen]["name"]);
  const auto long_flag =
      run_json("--device", "run -m {peaked} -p hi -n 1 --temp 0 --json --device " + std::to_string(chosen));
  EXPECT_EQ(long_flag["device"], devices["devices"][chosen]["name"]);
  test::run_cases({{"missing device",
                    "run -m {peaked} -p hi -n 1 --device 4000",
                    kExitError,
                    {"error: ", "device 4000 does not exist"}},
                   {"--ctx too large",
                    "run -m {peaked} -p hi --ctx 99999999",
                    kExitError,
                    {"error: lagvk run: option --ctx expects an integer from 0 to"}}},
                  values_);
}

}  // namespace
}  // namespace lagvk
