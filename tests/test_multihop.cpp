// The trained multihop model and its evaluation: the word vocabulary, trained weights through the GGUF
// writer, the suite's files, and the whole evaluation on the shipped model, where LAG (KV logs) must
// save steps and lose no answers against no logs, by paired significance bounds stated in the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/random_model.hpp"
#include "engine/model/synthetic_vocab.hpp"
#include "engine/model/trained_weights.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "logstore/retrieval_index.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tests/support/sanitizer.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/sign_test.hpp"
#include "tests/support/trained_weights_dir.hpp"
#include "tools/eval/multihop_suite.hpp"

namespace lagvk::test {
namespace {

const std::string kAssets = std::string(LAGVK_SOURCE_DIR) + "/assets";
const std::string kModel = kAssets + "/models/multihop-q8_0.gguf";

/// A word after a space, as SentencePiece writes it ("▁word").
std::string sp(const std::string& word) {
  return "\xe2\x96\x81" + word;
}

TEST(WordVocab, ListedWordsAreSingleTokensWhateverTheirNeighbours) {
  const std::vector<std::string> words = {sp("Kastoria"), sp("director"), "director",
                                          sp("Velor"),    "ria",          sp("Kas")};
  RandomModelSpec s = small_model_spec(GgmlType::f32, 1);
  s.words = words;
  s.n_vocab = vocabulary_size(s);
  const auto bytes = make_random_model(s).to_bytes();
  const test::ScratchDir dir_scratch("multihop_vocab");
  const auto& dir = dir_scratch.path();
  const std::string path = (dir / "m.gguf").string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const auto file = GgufFile::open(path);
  const auto tok = make_tokenizer(file);
  // " Kastoria" is one token although "ria" and " Kas" are pieces too; "(director" keeps its own word.
  const auto ids = tok->encode(" Kastoria director(director, Velor", false, false);
  std::vector<std::string> pieces;
  for (auto id : ids) pieces.push_back(tok->token_text(id));
  EXPECT_EQ(pieces,
            (std::vector<std::string>{sp("Kastoria"), sp("director"), "(", "director", ",", sp("Velor")}));
  // No implicit leading space: a text that starts with a word starts without "▁".
  EXPECT_EQ(tok->token_text(tok->encode("director", false, false).at(0)), "director");
  s.words.push_back("two words");
  EXPECT_THROW((void)vocabulary_size(s), Error);
}

/// The values TrainedWeights tests write: distinct per tensor and position.
float weight_value(const std::string& name, std::uint64_t i, std::uint64_t /*offset*/) {
  return float(i % 97) * 0.001f + float(name.size()) * 0.01f;
}

TEST(TrainedWeights, ReachTheGgufFileUnchangedAndBadFilesAreRefused) {
  const RandomModelSpec s = model_spec(GgmlType::f32, 2, 64, 4, 2, 96, 300, 1);
  const test::ScratchDir dir_scratch("multihop_weights");
  const auto& dir = dir_scratch.path();
  test::write_trained_weights(dir, s, weight_value);
  const auto w = TrainedWeights::load(dir.string());
  RandomModelSpec t;
  w.apply_config(t);
  EXPECT_EQ(t.n_layers, 2u);
  EXPECT_EQ(t.n_ff, 96u);
  EXPECT_TRUE(t.tied_output);
  t.weights = [&w](const std::string& name, std::size_t n) { return w.tensor(name, n); };
  const auto bytes = make_random_model(t).to_bytes();
  const std::string path = (dir / "m.gguf").string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const auto file = GgufFile::open(path);
  const auto* q = file.find_tensor("blk.1.attn_q.weight");
  ASSERT_NE(q, nullptr);
  const auto expect = w.tensor("blk.1.attn_q.weight", 64 * 64);
  const auto* got = reinterpret_cast<const float*>(file.tensor_data(*q).data());
  for (std::size_t i = 0; i < expect.size(); ++i) ASSERT_EQ(got[i], expect[i]) << i;
  EXPECT_THROW((void)w.tensor("blk.9.attn_q.weight", 10), Error);
  EXPECT_THROW((void)w.tensor("blk.1.attn_q.weight", 10), Error);

  const test::ScratchDir cut_scratch("multihop_weights_cut");
  const auto& cut = cut_scratch.path();
  test::write_trained_weights(cut, s, weight_value, 8);
  EXPECT_THROW((void)TrainedWeights::load(cut.string()), Error);
  std::ofstream(cut / "weights.json") << "{\"format\": \"something else\"}";
  EXPECT_THROW((void)TrainedWeights::load(cut.string()), Error);
  EXPECT_THROW((void)TrainedWeights::load((cut / "missing").string()), Error);
}

TEST(MultihopSuite, LoadsTheShippedSuiteAndRefusesBadOnes) {
  const auto suite = lag::load_multihop_suite(kAssets + "/multihop");
  std::size_t seen = 0, unseen = 0;
  for (const auto& q : suite.questions) {
    (q.split == "seen" ? seen : unseen)++;
    EXPECT_GE(q.hops, 2u);
    EXPECT_LE(q.hops, 4u);
  }
  EXPECT_EQ(seen, 100u);
  EXPECT_EQ(unseen, 100u);
  const test::ScratchDir dir_scratch("multihop_suite");
  const auto& dir = dir_scratch.path();
  std::ofstream(dir / "questions.jsonl")
      << "{\"id\": \"a\", \"split\": \"later\", \"question\": \"q\", \"answer\": \"x\"}\n";
  try {
    (void)lag::load_multihop_suite(dir.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)lag::load_multihop_suite((dir / "none").string()), Error);
  EXPECT_THROW((void)lag::parse_eval_modes("none,kv-first"), Error);
  EXPECT_EQ(lag::parse_eval_modes("").size(), 8u);  // none, text-full/last, kv-last/all/answer/full, cache
  EXPECT_TRUE(lag::exact_match(" Velor.", "velor"));
  EXPECT_FALSE(lag::exact_match("", ""));
  EXPECT_FALSE(lag::exact_match("Velorn", "Velor"));
}

// make_data.py records, for each unseen question, the seen task whose log lagvk retrieves for it; its
// training corpus puts the same retrieval's logs in front of tasks (tools/train/make_data.py Bm25). Both
// must be the retrieval lagvk runs: the store's BM25 over the seen tasks' questions, top 1, ties to the
// task stored first.
TEST(MultihopSuite, RecordedRetrievalIsTheStoresRetrieval) {
  std::ifstream in(kAssets + "/multihop/questions.jsonl");
  std::vector<nlohmann::json> seen, unseen;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    (j["split"] == "seen" ? seen : unseen).push_back(std::move(j));
  }
  std::vector<logstore::IndexedLog> logs;
  for (std::size_t i = 0; i < seen.size(); ++i)  // the eval stores the seen tasks in file order
    logs.push_back({logstore::LogId(i + 1), seen[i]["question"].get<std::string>(), {}, {}});
  const logstore::RetrievalIndex index(std::move(logs));
  ASSERT_EQ(unseen.size(), 100u);
  for (const auto& q : unseen) {
    const auto top = index.lexical(q["question"].get<std::string>(), 1, {}, {});
    ASSERT_FALSE(top.empty()) << q["question"];
    const auto& recorded = q["retrieved"];
    ASSERT_TRUE(recorded.is_string()) << q["id"] << ": regenerate with tools/train/make_data.py eval";
    EXPECT_EQ(seen.at(top[0].id - 1)["id"], recorded) << q["question"];
  }
}

/// The runs of consecutive indices in an ascending list: [first, last] pairs.
std::vector<std::pair<std::int32_t, std::int32_t>> runs_of(const std::vector<std::int32_t>& indices) {
  std::vector<std::pair<std::int32_t, std::int32_t>> runs;
  for (auto i : indices) {
    if (!runs.empty() && runs.back().second + 1 == i) {
      runs.back().second = i;
    } else {
      runs.push_back({i, i});
    }
  }
  return runs;
}

// `lagvk tokenize --traces` tells tools/train which tokens the model will see as a log; they must be the
// tokens the agent (engine/lag/agent.cpp) gives the model: before each assistant turn, the prompt
// render_prompt makes of the messages so far (BOS first, after logs too), then the turn the model
// wrote. So each turn's prompt is a prefix of the trace's tokens, the selection 'all' is one run per
// assistant turn starting where that turn's prompt ends and decoding to the turn's text, and 'last' is
// the last of those runs.
TEST(MultihopModel, TokenizeTracesMatchesTheAgentsRendering) {
  const auto r =
      run_lagvk("tokenize -m " + kModel + " --traces " + kAssets + "/multihop/seen-gold-traces.jsonl", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto file = GgufFile::open(kModel);
  const auto tok = make_tokenizer(file);
  const auto chat = detect_chat_template(file);
  std::ifstream in(kAssets + "/multihop/seen-gold-traces.jsonl");
  std::stringstream buf;
  buf << in.rdbuf();
  const auto traces = lag::parse_traces(buf.str(), "demo");
  std::stringstream out(r.out);
  std::string line;
  std::size_t turns = 0;
  for (const auto& t : traces) {
    ASSERT_TRUE(std::getline(out, line));
    const auto j = nlohmann::json::parse(line);
    const auto tokens = j["tokens"].get<std::vector<std::int32_t>>();
    const auto all = runs_of(j["all"].get<std::vector<std::int32_t>>());
    std::size_t run = 0;
    for (std::size_t i = 0; i < t.messages.size(); ++i) {
      if (t.messages[i].role != "assistant") continue;
      const std::vector<lag::Message> before(t.messages.begin(), t.messages.begin() + std::ptrdiff_t(i));
      const auto prompt = lag::render_prompt(before, *tok, &chat);
      ASSERT_LE(prompt.size(), tokens.size()) << t.task;
      EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), tokens.begin()))
          << t.task << ": the prompt before turn " << i << " is not how the trace begins";
      ASSERT_LT(run, all.size()) << t.task << ": no selected span for turn " << i;
      const auto [first, last] = all[run++];
      EXPECT_EQ(std::size_t(first), prompt.size()) << t.task << " turn " << i;
      std::string text =
          tok->decode(std::vector<std::int32_t>(tokens.begin() + first, tokens.begin() + last + 1));
      text.erase(0, text.find_first_not_of(' '));
      EXPECT_EQ(text, t.messages[i].content) << t.task << " turn " << i;
      ++turns;
    }
    EXPECT_EQ(run, all.size()) << t.task << ": 'all' keeps more than the assistant turns";
    const auto last_run = runs_of(j["last"].get<std::vector<std::int32_t>>());
    ASSERT_EQ(last_run.size(), 1u) << t.task;
    EXPECT_EQ(last_run[0], all.back()) << t.task;
  }
  EXPECT_FALSE(std::getline(out, line)) << "more lines than traces";
  EXPECT_GE(turns, 300u);  // 100 tasks of 2 to 4 hops, each with an answer turn
}

}  // namespace
}  // namespace lagvk::test

namespace lagvk::test {
namespace {

// The sign test's exact tail against values computed by hand: C(n, k) / 2^n summed.
TEST(SignTest, ExactBinomialTailsAndOneSidedPValues) {
  EXPECT_EQ(binomial_half_upper_tail(10, 0), 1.0);
  EXPECT_EQ(binomial_half_upper_tail(10, 11), 0.0);
  EXPECT_EQ(binomial_half_upper_tail(10, 10), 1.0 / 1024);
  EXPECT_EQ(binomial_half_upper_tail(10, 9), 11.0 / 1024);  // C(10,9) + C(10,10)
  EXPECT_EQ(binomial_half_upper_tail(4, 2), 11.0 / 16);     // (6 + 4 + 1) / 16
  EXPECT_DOUBLE_EQ(binomial_half_upper_tail(7, 4), 0.5);    // symmetric, odd n: half the mass
  // 6 wins, 2 losses (the old 20-question slice): (C(8,6) + C(8,7) + C(8,8)) / 256 = 37 / 256.
  EXPECT_DOUBLE_EQ(sign_test_p(6, 2), 37.0 / 256);
  EXPECT_DOUBLE_EQ(sign_test_p(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(sign_test_p(88, 0), std::ldexp(1.0, -88));
  // A large n, by the symmetry P(X >= 51) + P(X <= 49) + P(X = 50) = 1 with P(X <= 49) = P(X >= 51).
  const double middle = binomial_half_upper_tail(100, 50) - binomial_half_upper_tail(100, 51);
  EXPECT_NEAR(2 * binomial_half_upper_tail(100, 51) + middle, 1.0, 1e-12);
  EXPECT_NEAR(middle, 0.0795892373871787, 1e-12);  // C(100, 50) / 2^100
  EXPECT_THROW((void)binomial_half_upper_tail(1001, 1), std::invalid_argument);
}

/// How a mode fared against no logs on the same questions, counting the discordant questions only.
struct PairedCounts {
  std::uint32_t gained = 0, lost = 0;             ///< right with logs and wrong without, and the reverse
  std::uint32_t fewer_steps = 0, more_steps = 0;  ///< steps with logs below, or above, steps without
};

PairedCounts paired_counts(const lag::ModeResult& logs, const lag::ModeResult& none) {
  std::map<std::string, const lag::QuestionResult*> base;
  for (const auto& d : none.details) base[d.id] = &d;
  EXPECT_EQ(logs.details.size(), none.details.size());
  PairedCounts c;
  for (const auto& d : logs.details) {
    const auto it = base.find(d.id);
    if (it == base.end()) {
      ADD_FAILURE() << d.id << " was answered with logs only";
      continue;
    }
    const auto& b = *it->second;
    c.gained += d.correct && !b.correct;
    c.lost += b.correct && !d.correct;
    c.fewer_steps += d.steps < b.steps;
    c.more_steps += d.steps > b.steps;
  }
  return c;
}

const lag::ModeResult& row(const lag::EvalReport& report, const std::string& split, const std::string& mode) {
  for (const auto& r : report.rows)
    if (r.split == split && r.mode == mode) return r;
  throw std::runtime_error("no row " + split + "/" + mode);
}

// The LAG effect on the shipped model, over whole splits (100 unseen questions; 100 seen), paired with
// no logs question by question. The statistics: on each question a mode with logs either agrees with no
// logs or not; only the discordant questions carry evidence, and if logs made no difference each would go
// either way with probability 1/2, so a one-sided sign test (exact binomial tail,
// tests/support/sign_test.hpp) bounds the chance that the measured advantage is luck.
//
// Measured with this eval on lavapipe (bench/results/multihop-q8_0.json, recomputed from its details;
// gained/lost = questions right with logs and wrong without / the reverse), with the model trained for
// the paper's layout ([logs][BOS + prompt]):
//   unseen, exact match:  kv-last 21 gained vs 18 lost (p = 0.38); kv-all 12 vs 13 (p = 0.66);
//                         text-full 21 vs 14 (p = 0.16); text-last 13 vs 16 (p = 0.77)
//   unseen, steps:        kv-last fewer on 80 questions, more on 0 (p = 8e-25); kv-all 70 vs 0
//   seen, exact match:    kv-last 25 vs 2 (p = 3e-6)
//   seen, steps:          kv-last fewer on 94, more on 0 (p = 5e-29); kv-all 90 vs 0
// So the step saving is overwhelming on both splits, and so is the exact-match gain on the seen split
// (each seen task reads its own log); on unseen questions, whose log only shares a sub-chain, LAG
// (kv-last) answers 3 more right than no logs (68% to 65%), far from significant on 100 questions, and
// kv-all answers one fewer. The bounds below assert what the issue asks of LAG: kv-last saves steps and
// gains more unseen questions than it loses (not significance: 3 flipped answers would undo it). kv-all
// and the text modes are measured by bench/multihop.sh (bench/RESULTS.md), not here: each row costs CI
// two minutes.
constexpr double kStepsP = 1e-3;               // fewer steps with logs, both splits
constexpr double kMinStepSaving = 1.0;         // mean steps; measured unseen 1.25 / 1.04, seen 1.52 / 1.35
constexpr double kSeenMatchP = 1e-3;           // measured 3e-6
constexpr std::uint32_t kMaxSeenLost = 4;      // seen questions LAG may lose; measured 2
constexpr std::uint32_t kMinSeenCorrect = 90;  // of the 100 seen tasks run for logs; measured 100
constexpr std::uint32_t kMinOwnLogs = 95;      // seen questions that read their own task's log; measured 97

// The sanitizer build (tests/support/sanitizer.hpp) runs a slice, 10 questions with the logs of the first
// 10 seen tasks: the same code (agent, store, retrieval, splice) checked for memory errors in a few minutes.
// A slice cannot carry the statistics, so there the tests assert only what it can, and say so on stdout
// and in the test's properties.
constexpr std::uint32_t kSliceQuestions = 10;

/// The evaluation of both splits: the seen tasks run by the agent become the logs once (100 agent runs:
/// a third of the time), then each split's questions with no logs and with each mode.
lag::EvalReport evaluate(const std::string& modes) {
  if (kSanitizerBuild) {
    std::printf(
        "sanitizer build: a %u-question unseen slice; the whole-split bounds are the release build's\n",
        kSliceQuestions);
    ::testing::Test::RecordProperty(
        "lag_effect", "sanitizer build: slice of " + std::to_string(kSliceQuestions) + " questions");
  } else {
    ::testing::Test::RecordProperty("lag_effect", "whole unseen and seen splits");
  }
  LoadOptions lo;
  lo.context = 1024;
  auto engine = load_engine(kModel, lo);
  lag::EvalOptions o;
  o.modes = lag::parse_eval_modes(modes);
  // The unseen split's slice takes this code (agent, store, retrieval, splice) through the sanitizer; a
  // seen slice would add minutes of CI for no path it does not take.
  o.splits =
      kSanitizerBuild ? std::vector<std::string>{"unseen"} : std::vector<std::string>{"unseen", "seen"};
  if (kSanitizerBuild) o.limit = o.store_limit = kSliceQuestions;
  auto report = lag::run_multihop_eval(*engine, lag::load_multihop_suite(kAssets + "/multihop"), o);
  std::printf("logs of %u seen tasks: %.0f s\n", report.log_tasks, report.log_seconds);
  for (const auto& r : report.rows)
    std::printf("%s/%s: %.0f s\n", r.split.c_str(), r.mode.c_str(), r.seconds);
  // Without logs and with room for every hop, the model solves most seen tasks itself (a broken
  // rendering of its own turns, for one, drops this to zero).
  EXPECT_GE(report.log_tasks_correct, kSanitizerBuild ? kSliceQuestions - 1 : kMinSeenCorrect)
      << "of " << report.log_tasks << " seen tasks";
  return report;
}

PairedCounts counted(const lag::ModeResult& logs, const lag::ModeResult& none) {
  const auto c = paired_counts(logs, none);
  std::printf(
      "%s/%s: EM %.0f%% (none %.0f%%), gained %u lost %u (p %.3g); steps %.2f (none %.2f), "
      "fewer %u more %u (p %.3g)\n",
      logs.split.c_str(), logs.mode.c_str(), logs.exact_match, none.exact_match, c.gained, c.lost,
      sign_test_p(c.gained, c.lost), logs.mean_steps, none.mean_steps, c.fewer_steps, c.more_steps,
      sign_test_p(c.fewer_steps, c.more_steps));
  if (!kSanitizerBuild) {  // the slice's 10 logs may share no word with an unseen question
    EXPECT_EQ(logs.mean_logs, 1.0) << logs.mode << ": one log per question";
  }
  return c;
}

void expect_saves_steps(const PairedCounts& c, const lag::ModeResult& logs, const lag::ModeResult& none) {
  const std::string what = logs.split + "/" + logs.mode;
  EXPECT_LT(sign_test_p(c.fewer_steps, c.more_steps), kStepsP)
      << what << ": fewer steps on " << c.fewer_steps << " questions, more on " << c.more_steps;
  EXPECT_GE(none.mean_steps - logs.mean_steps, kMinStepSaving)
      << what << ": mean steps " << logs.mean_steps << ", without logs " << none.mean_steps;
}

// One test for both splits, so that the 100 seen tasks become logs once (they were half of each split's
// run). Run time (release build, lavapipe, this 2-core machine): about 11 minutes unloaded (logs 283 s,
// unseen none 106 s and kv-last 80 s, seen none 108 s and kv-last 69 s); under ctest -j2, which starts it
// first (tests/CMakeLists.txt), it was the suite's last test to end at 1,157 s with two kv-all rows more.
// The sanitizer build runs an unseen slice alone.
TEST(MultihopModel, KvLogsSaveStepsAndLoseNoAnswersOnTheWholeSplits) {
  const auto report = evaluate("none,kv-last");
  ASSERT_EQ(report.rows.size(), kSanitizerBuild ? 2u : 4u);
  const auto& none = row(report, "unseen", "none");
  EXPECT_EQ(none.questions, kSanitizerBuild ? kSliceQuestions : 100u);
  const auto& logs = row(report, "unseen", "kv-last");
  const auto c = counted(logs, none);
  if (kSanitizerBuild) return;  // a slice of unseen questions with 10 unrelated logs: no bound holds
  expect_saves_steps(c, logs, none);
  EXPECT_GT(c.gained, c.lost) << "LAG must answer more unseen questions than no logs";

  // The seen split: each question reads its own task's log.
  const auto& seen_none = row(report, "seen", "none");
  const auto& lag = row(report, "seen", "kv-last");
  EXPECT_EQ(seen_none.questions, 100u);
  const auto seen = counted(lag, seen_none);
  std::uint32_t own = 0;
  for (const auto& d : lag.details) own += d.log_tasks == std::vector<std::string>{d.question};
  EXPECT_GE(own, kMinOwnLogs) << "questions that read their own log";
  EXPECT_LE(seen.lost, kMaxSeenLost) << "seen questions lost with their own log";
  expect_saves_steps(seen, lag, seen_none);
  EXPECT_LT(sign_test_p(seen.gained, seen.lost), kSeenMatchP)
      << "gained " << seen.gained << ", lost " << seen.lost;
}

TEST(MultihopModel, EvalCommandPrintsJson) {
  const auto r = run_lagvk(
      "eval -m " + kModel + " --limit 2 --store-limit 4 --modes none,kv-last --json --details", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][1]["mode"], "kv-last");
  EXPECT_EQ(j["rows"][0]["questions"], 2);
  EXPECT_EQ(j["logs"]["tasks"], 4);
  // --details: every question's transcript (one line per step) and, with logs, the tasks of the logs used.
  const auto& plain = j["rows"][0]["details"].at(0);
  const auto& lag = j["rows"][1]["details"].at(0);
  EXPECT_EQ(plain["transcript"].size(), plain["steps"].get<std::size_t>());
  EXPECT_TRUE(plain["log_tasks"].empty());
  EXPECT_EQ(lag["log_tasks"].size(), lag["logs"].get<std::size_t>());
  EXPECT_GE(lag["logs"].get<int>(), 1);
  const auto bad = run_lagvk("eval -m " + kModel + " --modes none,kv-first");
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("error: "), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("kv-first"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace lagvk::test
