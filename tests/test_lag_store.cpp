// LAG through the LMDB store and the CLI: pages read in place from the store splice to exactly the same
// cache as pages held in memory; a store made with another model is refused; full-trace logs give the
// same greedy tokens in kv and text modes; and the commands work end to end with JSON output.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/context_builder.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/store_library.hpp"
#include "engine/lag/text_embedding.hpp"
#include "engine/model/random_model.hpp"
#include "engine/ref/forward.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/synthetic_logs.hpp"
#include "tests/support/thrown_error.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

std::string write_model(const std::string& name, std::uint64_t seed) {
  const RandomModelSpec spec = small_model_spec(GgmlType::q8_0, seed);
  const auto path = fs::path(::testing::TempDir()) / (name + std::to_string(::getpid()) + ".gguf");
  make_random_model(spec).write(path.string());
  return path.string();
}

const lag::Trace kTrace{"who directed the glass harbor",
                        {{"user", "who directed the glass harbor"},
                         {"assistant", "Action: lookup(director, The Glass Harbor)"},
                         {"tool", "director(The Glass Harbor) = Mara Ellison"},
                         {"assistant", "Answer: Mara Ellison"}},
                        {"film"}};

class LagStore : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    model_ = write_model("lag_store_a", 21);
    LoadOptions o;
    o.context = 512;
    o.sequences = 4;
    engine_ = load_engine(model_, o);
    dir_ = (scratch_.path() / "store").string();  // not there yet: the tests make the store
  }
  void TearDown() override {
    engine_.reset();
    fs::remove(model_);
    GpuTest::TearDown();
  }
  const test::ScratchDir scratch_{"lag_store"};
  std::string model_, dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(LagStore, ErrorsCarryTheirCodes) {
  auto store = logstore::Store::open(dir_, {true, lag::model_fingerprint(*engine_)});
  lag::StoreLibrary library(*store);
  const auto unknown = error_of([&] { (void)library.tokens(42); });
  EXPECT_EQ(unknown.first, Errc::not_found) << unknown.second;
  EXPECT_EQ(error_of([&] { (void)library.kv(42); }).first, Errc::not_found);
  EXPECT_EQ(error_of([&] { (void)lag::parse_traces("{\"task\": 1}", "t.json"); }).first, Errc::bad_input);
  const auto mode = error_of([&] { (void)lag::parse_log_mode("splice"); });
  EXPECT_EQ(mode.first, Errc::invalid_argument);
  EXPECT_EQ(mode.second.find("--"), std::string::npos) << mode.second;
  EXPECT_EQ(error_of([&] { (void)lag::parse_selection("most"); }).first, Errc::invalid_argument);
  const lag::Trace no_answer{"t", {{"user", "only a question"}}, {}};
  const auto select = error_of([&] { (void)lag::encode_trace(*engine_, no_answer, lag::Selection::last); });
  EXPECT_EQ(select.first, Errc::bad_input) << select.second;
  EXPECT_EQ(select.second.find("--"), std::string::npos) << select.second;
  lag::Trace longer = kTrace;
  longer.messages.back().content = std::string(3000, 'x');
  const auto full = error_of([&] { (void)lag::encode_trace(*engine_, longer, lag::Selection::last); });
  EXPECT_EQ(full.first, Errc::context_full) << full.second;
  EXPECT_EQ(full.second.find("--"), std::string::npos) << full.second;
}

TEST_F(LagStore, StorePagesSpliceLikeMemoryPages) {
  auto store = logstore::Store::open(dir_, {true, lag::model_fingerprint(*engine_)});
  const lag::EncodedLog log = lag::encode_trace(*engine_, kTrace, lag::Selection::all);
  const auto id = lag::store_log(*store, log);
  lag::StoreLibrary library(*store);
  const auto prompt = lag::render_prompt({{"user", "where was mara ellison born"}}, engine_->tokenizer());
  auto from_store = lag::build_context(*engine_, &library, {id}, lag::LogMode::kv, prompt);
  // The same log spliced from host memory.
  auto seq = engine_->new_sequence();
  const KvPages pages =
      splice_log_kv(engine_->context(), engine_->pool(), source_of(log.kv, engine_->pool().shape()), 0,
                    rope_args(engine_->forward().weights()));
  seq->append_shared_pages(pages.ids(), log.kv.tokens);
  std::vector<std::int32_t> pos(prompt.size());
  std::iota(pos.begin(), pos.end(), std::int32_t(log.kv.tokens));
  const auto from_memory = engine_->forward().eval(*seq, prompt, pos);
  EXPECT_EQ(compare(from_store.logits, from_memory).max_abs, 0.0);
}

TEST_F(LagStore, Q8PagesMoveNextTokenLogitsLittle) {
  const lag::EncodedLog log = lag::encode_trace(*engine_, kTrace, lag::Selection::full);
  const auto prompt = lag::render_prompt({{"user", "where was mara ellison born"}}, engine_->tokenizer());
  std::vector<std::vector<float>> logits;
  for (auto codec : {logstore::PageCodec::f16, logstore::PageCodec::q8_0}) {
    const auto d = dir_ + (codec == logstore::PageCodec::f16 ? "_f16" : "_q8");
    fs::remove_all(d);
    logstore::StoreOptions o{true, lag::model_fingerprint(*engine_)};
    o.codec = codec;
    auto store = logstore::Store::open(d, o);
    const auto id = lag::store_log(*store, log);
    lag::StoreLibrary library(*store);
    logits.push_back(lag::build_context(*engine_, &library, {id}, lag::LogMode::kv, prompt).logits);
    fs::remove_all(d);
  }
  const ErrorStats e = compare(logits[1], logits[0]);
  std::printf("q8_0 pages vs fp16 pages: next-token logits differ by %.3e of their range (max abs %.3e)\n",
              e.max_rel, e.max_abs);
  EXPECT_LE(e.max_rel, 5e-3);  // measured 7.6e-4
  EXPECT_GT(e.max_rel, 0.0) << "q8_0 must actually be in use";
  EXPECT_EQ(std::max_element(logits[0].begin(), logits[0].end()) - logits[0].begin(),
            std::max_element(logits[1].begin(), logits[1].end()) - logits[1].begin());
}

/// A text's embedding as the CPU reference computes it, independently of the GPU: the mean over the
/// text's tokens of the final normalised hidden state (the reference's "result_norm" activation).
std::vector<float> reference_embedding(const std::string& model_path, const Engine& engine,
                                       const std::string& text) {
  Model model = Model::open(model_path);
  ref::RefModel reference(model);
  std::vector<float> sum;
  reference.set_activation_hook([&](std::string_view name, std::span<const float> values) {
    if (name != "result_norm") return;
    const std::size_t dim = engine.config().dim;
    sum.assign(dim, 0.0f);
    for (std::size_t i = 0; i < values.size(); ++i) sum[i % dim] += values[i];
  });
  const auto tokens = engine.tokenizer().encode(text, engine.tokenizer().add_bos_by_default(), false);
  (void)reference.forward(tokens);
  for (auto& v : sum) v /= float(tokens.size());
  return sum;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST_F(LagStore, EmbeddingsAreTheMeanFinalHiddenStateOfTheCpuReference) {
  const std::string text = "who directed the glass harbor";
  const auto gpu_vec = lag::embed_text(*engine_, text);
  const auto sum = reference_embedding(model_, *engine_, text);
  ASSERT_EQ(sum.size(), gpu_vec.size());
  EXPECT_LE(compare(gpu_vec, sum).max_rel, 1e-3);
}

// Dense retrieval (StoreLibrary with an embedder) against an independent computation: the cosine
// similarity, computed here, between CPU-reference embeddings of the query and of each task. The queries
// are ones where BM25 and dense retrieval disagree (BM25 follows the shared word "films" or "mara"; the
// model's embedding is nearest to another task), so a library that fell back to BM25, or scored by
// anything but cosine, fails. Measured reference cosines: "capital films" 0.648 for the capital of
// veloria, next 0.453; "mara okabe" 0.662 for jun okabe's father, next 0.534.
TEST_F(LagStore, DenseRetrievalRanksByCosineOfTheReferenceEmbeddings) {
  const std::vector<std::string> tasks = {
      "who directed the glass harbor", "where was mara ellison born",       "what is the capital of veloria",
      "who founded brightwater films", "which river flows through castell", "who is the father of jun okabe"};
  logstore::StoreOptions o{true, lag::model_fingerprint(*engine_)};
  auto store = logstore::Store::open(dir_, o);
  std::map<logstore::LogId, std::vector<float>> reference;  // each log's task, embedded by the CPU reference
  for (const auto& t : tasks) {
    auto log =
        lag::encode_trace(*engine_, {t, {{"user", t}, {"assistant", "Answer: x"}}, {}}, lag::Selection::last);
    log.embedding = lag::embed_text(*engine_, t);
    reference[lag::store_log(*store, log)] = reference_embedding(model_, *engine_, t);
  }
  lag::StoreLibrary bm25(*store);
  lag::StoreLibrary dense(*store, {}, lag::TextEmbedder::generator(*engine_));
  constexpr double kScoreTolerance = 2e-3;  // GPU against CPU embeddings: 1e-3 of their range
  constexpr double kMinGap = 0.01;          // reference cosines closer than this may swap
  for (const std::string query : {"capital films", "mara okabe"}) {
    const auto q = reference_embedding(model_, *engine_, query);
    std::vector<std::pair<double, logstore::LogId>> expected;  // (cosine, id), best first
    for (const auto& [id, v] : reference) expected.push_back({cosine(q, v), id});
    std::sort(expected.rbegin(), expected.rend());
    ASSERT_GE(expected[0].first - expected[1].first, 0.05)
        << query << ": the reference's best is no clear best";
    const auto got = dense.retrieve(query, std::uint32_t(tasks.size()), {});
    ASSERT_EQ(got.size(), tasks.size()) << query;
    EXPECT_EQ(got[0].id, expected[0].second) << query;
    const auto lexical = bm25.retrieve(query, 1, {});
    ASSERT_FALSE(lexical.empty()) << query;
    EXPECT_NE(lexical[0].id, expected[0].second) << query << ": BM25 and dense must disagree here";
    std::map<logstore::LogId, double> score;
    for (const auto& hit : got) score[hit.id] = hit.score;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(score[expected[i].second], expected[i].first, kScoreTolerance) << query << ", log " << i;
      // Order: every pair the reference separates by more than the gap comes back in that order.
      for (std::size_t j = i + 1; j < expected.size(); ++j)
        if (expected[i].first - expected[j].first > kMinGap) {
          EXPECT_GT(score[expected[i].second], score[expected[j].second]) << query;
        }
    }
  }
}

TEST_F(LagStore, DenseRetrievalAgainstBm25OnALabelledSet) {
  // Logs of six tasks; each query is labelled with the log it should find. Identical wording must be
  // found by both methods; paraphrases compare the model's own embedding with BM25's word overlap
  // (measured: 6/6 each with this random-weight model, whose mean pooling acts like a bag of tokens).
  const std::vector<std::string> tasks = {
      "who directed the glass harbor", "where was mara ellison born",       "what is the capital of veloria",
      "who founded brightwater films", "which river flows through castell", "who is the father of jun okabe"};
  const std::vector<std::pair<std::string, std::size_t>> paraphrases = {
      {"the glass harbor director", 0},    {"birthplace of mara ellison", 1}, {"veloria capital city", 2},
      {"founder of brightwater films", 3}, {"river of castell", 4},           {"jun okabe father", 5}};
  logstore::StoreOptions o{true, lag::model_fingerprint(*engine_)};
  auto store = logstore::Store::open(dir_, o);
  std::vector<logstore::LogId> ids;
  for (const auto& t : tasks) {
    auto log =
        lag::encode_trace(*engine_, {t, {{"user", t}, {"assistant", "Answer: x"}}, {}}, lag::Selection::last);
    log.embedding = lag::embed_text(*engine_, t);
    ids.push_back(lag::store_log(*store, log));
  }
  lag::StoreLibrary bm25(*store);
  lag::StoreLibrary dense(*store, {}, lag::TextEmbedder::generator(*engine_));
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ(bm25.retrieve(tasks[i], 1, {}).at(0).id, ids[i]);
    EXPECT_EQ(dense.retrieve(tasks[i], 1, {}).at(0).id, ids[i]) << "a text's own embedding must be nearest";
  }
  int bm25_hits = 0, dense_hits = 0;
  for (const auto& [q, label] : paraphrases) {
    const auto b = bm25.retrieve(q, 1, {}), d = dense.retrieve(q, 1, {});
    bm25_hits += !b.empty() && b[0].id == ids[label];
    dense_hits += !d.empty() && d[0].id == ids[label];
  }
  std::printf("paraphrase top-1: BM25 %d/6, dense (random-weight model) %d/6\n", bm25_hits, dense_hits);
  EXPECT_EQ(bm25_hits, 6);
}

TEST_F(LagStore, FullTraceLogsAgreeInKvAndTextModes) {
  auto store = logstore::Store::open(dir_, {true, lag::model_fingerprint(*engine_)});
  const auto id = lag::store_log(*store, lag::encode_trace(*engine_, kTrace, lag::Selection::full));
  lag::StoreLibrary library(*store);
  const auto prompt = lag::render_prompt({{"user", "who directed silent orchard"}}, engine_->tokenizer());
  GenerateOptions g;
  g.max_tokens = 16;
  g.sampling.temperature = 0;
  g.stop_at_end_of_generation = false;
  auto kv = lag::build_context(*engine_, &library, {id}, lag::LogMode::kv, prompt);
  auto text = lag::build_context(*engine_, &library, {id}, lag::LogMode::text, prompt);
  const auto a = generate_from(*engine_, *kv.sequence, kv.logits, kv.next_position, g);
  const auto b = generate_from(*engine_, *text.sequence, text.logits, text.next_position, g);
  EXPECT_EQ(a.tokens, b.tokens);
}

TEST_F(LagStore, RefusesAStoreMadeWithAnotherModel) {
  { auto store = logstore::Store::open(dir_, {true, lag::model_fingerprint(*engine_)}); }
  const auto other_path = write_model("lag_store_b", 22);
  auto other = load_engine(other_path);
  try {
    (void)logstore::Store::open(dir_, {false, lag::model_fingerprint(*other)});
    FAIL() << "another model's store must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
  fs::remove(other_path);
}

TEST_F(LagStore, CommandsWorkEndToEnd) {
  const auto traces =
      (fs::path(::testing::TempDir()) / ("traces" + std::to_string(::getpid()) + ".jsonl")).string();
  {
    std::ofstream f(traces);
    f << R"({"task": "who directed the glass harbor", "messages": [{"role": "user", "content": "who directed the glass harbor"}, {"role": "assistant", "content": "Answer: Mara Ellison"}]})"
      << "\n"
      << R"({"task": "capital of veloria", "messages": [{"role": "user", "content": "capital of veloria"}, {"role": "assistant", "content": "Answer: Castell"}]})"
      << "\n";
  }
  const std::string store = " --store " + dir_ + " ";
  auto r = run_lagvk("log add" + store + "-m " + model_ + " --trace " + traces + " --json", false);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["added"].size(), 2u);
  r = run_lagvk("log ls" + store + "--json", false);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 2u);
  r = run_lagvk("ask -m " + model_ + store + "-k 2 -n 4 --save --json 'who directed the glass harbor'",
                false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["logs"].size(), 1u) << "only the log sharing words with the question is relevant";
  EXPECT_EQ(j["logs"][0]["task"], "who directed the glass harbor");
  EXPECT_EQ(j["tokens"].size(), 4u);
  EXPECT_TRUE(j.contains("saved_log"));
  r = run_lagvk("log verify" + store);
  EXPECT_EQ(r.status, 0) << r.out;
  r = run_lagvk("log stats" + store + "--json", false);
  EXPECT_EQ(nlohmann::json::parse(r.out)["logs"], 3);
  // Bad input: a clear error and exit code 1, never a crash.
  r = run_lagvk("ask -m " + model_ + " --store /nonexistent/store 'q'");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("no log store"), std::string::npos) << r.out;
  r = run_lagvk("ask -m " + model_ + store + "--logs maybe 'q'");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("maybe"), std::string::npos) << r.out;
  fs::remove(traces);
}

std::string write_traces(const std::string& name, const std::vector<nlohmann::json>& traces) {
  const auto path =
      (fs::path(::testing::TempDir()) / (name + std::to_string(::getpid()) + ".jsonl")).string();
  std::ofstream f(path);
  for (const auto& t : traces) f << t.dump() << "\n";
  return path;
}

nlohmann::json trace_json(const std::string& task, const std::string& answer) {
  return {
      {"task", task},
      {"messages", {{{"role", "user"}, {"content", task}}, {{"role", "assistant"}, {"content", answer}}}}};
}

std::string long_text(std::size_t words) {
  std::string text;
  for (std::size_t i = 0; i < words; ++i) text += "harbor film glass director ";
  return text;
}

TEST_F(LagStore, AddJsonReportsTheLogsCommittedBeforeAFailure) {
  const auto traces = write_traces("add_fails", {trace_json("capital of veloria", "Answer: Castell"),
                                                 trace_json("a long one", long_text(200))});
  const auto r = run_lagvk(
      "log add --store " + dir_ + " -m " + model_ + " --ctx 128 --trace " + traces + " --json", false);
  EXPECT_EQ(r.status, 1) << r.out;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "stdout must be the JSON report: " << r.out;
  ASSERT_EQ(j["added"].size(), 1u) << r.out;
  EXPECT_EQ(j["added"][0]["task"], "capital of veloria");
  EXPECT_NE(j["error"].get<std::string>().find("context"), std::string::npos) << r.out;
  const auto ls = run_lagvk("log ls --json --store " + dir_, false);
  ASSERT_EQ(ls.status, 0) << ls.out;
  const auto listed = nlohmann::json::parse(ls.out);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], j["added"][0]["id"]);
  fs::remove(traces);
}

TEST_F(LagStore, AskSkipsALogLongerThanTheContext) {
  const auto traces = write_traces("ask_long", {trace_json("glass harbor director history", long_text(60)),
                                                trace_json("who directed the glass harbor", "Answer: Mara")});
  auto r = run_lagvk(
      "log add --store " + dir_ + " -m " + model_ + " --select full --trace " + traces + " --json", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto added = nlohmann::json::parse(r.out)["added"];
  ASSERT_GT(added[0]["tokens"].get<int>(), 128) << "the first log must be longer than the context below";
  ASSERT_LT(added[1]["tokens"].get<int>(), 64);
  const std::string ask = "ask -m " + model_ + " --store " + dir_ + " --ctx 128 -k 2 -n 2 ";
  r = run_lagvk(ask + "--json 'who directed the glass harbor'", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["skipped_logs"].size(), 1u) << r.out;
  EXPECT_EQ(j["skipped_logs"][0]["id"], added[0]["id"]);
  EXPECT_NE(j["skipped_logs"][0]["reason"].get<std::string>().find("does not fit"), std::string::npos)
      << r.out;
  ASSERT_EQ(j["logs"].size(), 1u) << r.out;
  EXPECT_EQ(j["logs"][0]["id"], added[1]["id"]);
  r = run_lagvk(ask + "'who directed the glass harbor'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("warning: skipped log " + added[0]["id"].dump()), std::string::npos) << r.out;
  fs::remove(traces);
}

// An imported archive may hold token ids the model does not have (its checksums are its own): a text log
// with one is skipped with a warning naming it, and the others are used.
TEST_F(LagStore, AskSkipsATextLogWithTokensOutsideTheVocabulary) {
  const auto traces = write_traces("ask_vocab", {trace_json("who directed the glass harbor", "Answer: Mara"),
                                                 trace_json("the glass harbor film", "Answer: a film")});
  auto r = run_lagvk("log add --store " + dir_ + " -m " + model_ + " --trace " + traces, false);
  ASSERT_EQ(r.status, 0) << r.out;
  logstore::LogRecord record;
  {
    auto store = logstore::Store::open(dir_, {});
    record = *store->read().log(1);
  }
  record.token_ids[0] = 1000000;
  put_raw_record(dir_, 1, logstore::encode_record_value(record));
  r = run_lagvk("ask -m " + model_ + " --store " + dir_ +
                    " --logs text -k 2 -n 2 --json 'who directed the glass harbor'",
                false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["skipped_logs"].size(), 1u) << r.out;
  EXPECT_EQ(j["skipped_logs"][0]["id"], 1);
  EXPECT_NE(j["skipped_logs"][0]["reason"].get<std::string>().find("token id 1000000"), std::string::npos)
      << r.out;
  ASSERT_EQ(j["logs"].size(), 1u) << r.out;
  EXPECT_EQ(j["logs"][0]["id"], 2);
  fs::remove(traces);
}

TEST_F(LagStore, AskSkipsADamagedLogAndUsesTheOthers) {
  const auto traces =
      write_traces("ask_damaged", {trace_json("who directed the glass harbor", "Answer: Mara"),
                                   trace_json("the glass harbor film", "Answer: a film")});
  auto r = run_lagvk("log add --store " + dir_ + " -m " + model_ + " --trace " + traces, false);
  ASSERT_EQ(r.status, 0) << r.out;
  put_raw_record(dir_, 1, R"({"task": "who directed the glass harbor", "token_ids": "x"})");
  const std::string ask = "ask -m " + model_ + " --store " + dir_ + " -k 2 -n 2 ";
  r = run_lagvk(ask + "--json 'who directed the glass harbor'", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["skipped_logs"].size(), 1u) << r.out;
  EXPECT_EQ(j["skipped_logs"][0]["id"], 1);
  EXPECT_NE(j["skipped_logs"][0]["reason"].get<std::string>().find("log 1"), std::string::npos) << r.out;
  ASSERT_EQ(j["logs"].size(), 1u) << r.out;
  EXPECT_EQ(j["logs"][0]["id"], 2);
  r = run_lagvk(ask + "'who directed the glass harbor'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("warning: skipped log 1: log 1"), std::string::npos) << r.out;
  fs::remove(traces);
}

}  // namespace
}  // namespace lagvk::test
