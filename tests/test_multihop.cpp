// The trained multihop model and its evaluation: the word vocabulary, trained weights through the GGUF
// writer, the suite's files, and a slice of the evaluation on the shipped model, where LAG (KV logs,
// last responses) must beat no logs on exact match and on steps by a margin in line with the full run
// recorded in bench/RESULTS.md.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/multihop_suite.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/random_model.hpp"
#include "engine/model/synthetic_vocab.hpp"
#include "engine/model/trained_weights.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "logstore/retrieval_index.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"

namespace lagvk::test {
namespace {

const std::string kAssets = std::string(LAGVK_SOURCE_DIR) + "/assets";
const std::string kModel = kAssets + "/models/multihop-q8_0.gguf";

/// A word after a space, as SentencePiece writes it ("▁word").
std::string sp(const std::string& word) {
  return "\xe2\x96\x81" + word;
}

std::filesystem::path scratch(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("lagvk-test-multihop-" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

TEST(WordVocab, ListedWordsAreSingleTokensWhateverTheirNeighbours) {
  const std::vector<std::string> words = {sp("Kastoria"), sp("director"), "director",
                                          sp("Velor"),    "ria",          sp("Kas")};
  RandomModelSpec s = small_model_spec(GgmlType::f32, 1);
  s.words = words;
  s.n_vocab = vocabulary_size(s);
  const auto bytes = make_random_model(s).to_bytes();
  const auto dir = scratch("vocab");
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

void write_weights(const std::filesystem::path& dir, const RandomModelSpec& s, std::size_t drop_bytes = 0) {
  const std::uint32_t hd = s.n_embd / s.n_head, kv = s.n_head_kv * hd;
  std::vector<std::pair<std::string, std::vector<std::uint64_t>>> shapes = {
      {"token_embd.weight", {s.n_embd, s.n_vocab}}, {"output_norm.weight", {s.n_embd}}};
  for (std::uint32_t i = 0; i < s.n_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    shapes.push_back({b + "attn_norm.weight", {s.n_embd}});
    shapes.push_back({b + "attn_q.weight", {s.n_embd, s.n_embd}});
    shapes.push_back({b + "attn_k.weight", {s.n_embd, kv}});
    shapes.push_back({b + "attn_v.weight", {s.n_embd, kv}});
    shapes.push_back({b + "attn_output.weight", {s.n_embd, s.n_embd}});
    shapes.push_back({b + "ffn_norm.weight", {s.n_embd}});
    shapes.push_back({b + "ffn_gate.weight", {s.n_embd, s.n_ff}});
    shapes.push_back({b + "ffn_up.weight", {s.n_embd, s.n_ff}});
    shapes.push_back({b + "ffn_down.weight", {s.n_ff, s.n_embd}});
  }
  nlohmann::json tensors = nlohmann::json::object();
  std::vector<float> data;
  for (const auto& [name, shape] : shapes) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    tensors[name] = {{"shape", shape}, {"offset", data.size() * 4}};
    for (std::uint64_t i = 0; i < n; ++i) data.push_back(float(i % 97) * 0.001f + float(name.size()) * 0.01f);
  }
  nlohmann::json meta{{"format", "lagvk-weights-1"},
                      {"config",
                       {{"arch", "llama"},
                        {"n_layers", s.n_layers},
                        {"n_embd", s.n_embd},
                        {"n_head", s.n_head},
                        {"n_head_kv", s.n_head_kv},
                        {"n_ff", s.n_ff},
                        {"n_vocab", s.n_vocab},
                        {"n_ctx", 256},
                        {"rope_freq_base", 10000.0},
                        {"rms_eps", 1e-5},
                        {"tied_output", true}}},
                      {"tensors", tensors}};
  std::ofstream(dir / "weights.json") << meta.dump();
  std::ofstream(dir / "weights.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * 4 - drop_bytes));
}

TEST(TrainedWeights, ReachTheGgufFileUnchangedAndBadFilesAreRefused) {
  const RandomModelSpec s = model_spec(GgmlType::f32, 2, 64, 4, 2, 96, 300, 1);
  const auto dir = scratch("weights");
  write_weights(dir, s);
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

  const auto cut = scratch("weights-cut");
  write_weights(cut, s, 8);
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
  const auto dir = scratch("suite");
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
  EXPECT_EQ(lag::parse_eval_modes("").size(), 5u);
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

TEST(MultihopModel, TokenizeTracesMatchesTheAgentsRendering) {
  const auto r =
      run_lagvk("tokenize -m " + kModel + " --traces " + kAssets + "/multihop/seen-gold-traces.jsonl", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto file = GgufFile::open(kModel);
  const auto tok = make_tokenizer(file);
  std::ifstream in(kAssets + "/multihop/seen-gold-traces.jsonl");
  std::stringstream buf;
  buf << in.rdbuf();
  const auto traces = lag::parse_traces(buf.str(), "demo");
  std::stringstream out(r.out);
  std::string line;
  for (const auto& t : traces) {
    ASSERT_TRUE(std::getline(out, line));
    const auto j = nlohmann::json::parse(line);
    const auto last = lag::render_trace(t, *tok, lag::Selection::last);
    EXPECT_EQ(j["tokens"].get<std::vector<std::int32_t>>(), last.tokens);
    EXPECT_EQ(j["last"].get<std::vector<std::int32_t>>(), last.selected);
    EXPECT_EQ(j["all"].get<std::vector<std::int32_t>>(),
              lag::render_trace(t, *tok, lag::Selection::all).selected);
  }
}

}  // namespace
}  // namespace lagvk::test

namespace lagvk::test {
namespace {

// The full evaluation (bench/multihop.sh, bench/RESULTS.md; all 100 unseen questions, one log per
// task) measured no logs 65% EM in 3.72 steps and KV logs (last responses) 75% in 2.39, and 100 of the
// 100 seen tasks solved without logs. On this slice (the first 20): no logs 55% in 3.80 steps, KV logs
// 75% in 2.40 (the other 80: 67.5% against 75%). The exact-match margin is half of the slice's and
// the steps margin about three quarters, so that the test fails when LAG stops paying off on these
// questions but not on a question's worth of noise; a broken splice or re-rotation makes the log
// unreadable and drops LAG below no logs on exact match.
constexpr double kMinStepSaving = 1.0;       // measured 1.40 on this slice, 1.33 on 100 questions
constexpr double kMinExactMatchGain = 10.0;  // points; measured 20 on this slice, 10 on 100 questions
constexpr std::uint32_t kMinSeenCorrect = 90;

TEST(MultihopModel, LagBeatsNoLogsOnAnUnseenSlice) {
  LoadOptions lo;
  lo.context = 1024;
  auto engine = load_engine(kModel, lo);
  const auto suite = lag::load_multihop_suite(kAssets + "/multihop");
  lag::EvalOptions o;
  o.modes = lag::parse_eval_modes("none,kv-last");
  o.limit = 20;
  const auto report = lag::run_multihop_eval(*engine, suite, o);
  ASSERT_EQ(report.rows.size(), 2u);
  const auto& none = report.rows[0];
  const auto& lag = report.rows[1];
  EXPECT_EQ(none.questions, 20u);
  EXPECT_EQ(lag.mode, "kv-last");
  // Without logs and with room for every hop, the model solves most seen tasks itself (a broken
  // rendering of its own turns, for one, drops this to zero).
  EXPECT_GE(report.log_tasks_correct, kMinSeenCorrect) << "of " << report.log_tasks << " seen tasks";
  EXPECT_GE(lag.mean_logs, 1.0);
  std::printf("slice: no logs EM %.1f%% in %.2f steps; KV logs (last) EM %.1f%% in %.2f steps\n",
              none.exact_match, none.mean_steps, lag.exact_match, lag.mean_steps);
  EXPECT_GE(lag.exact_match - none.exact_match, kMinExactMatchGain)
      << "exact match: no logs " << none.exact_match << "%, LAG " << lag.exact_match << "%";
  EXPECT_GE(none.mean_steps - lag.mean_steps, kMinStepSaving)
      << "steps: no logs " << none.mean_steps << ", LAG " << lag.mean_steps;
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
