// Dense retrieval with an embedding model (--embed-model, lagvk_store_params.embed_model): a store's
// vectors are made by the embedder it records, for the logs and the queries, and another embedder (or the
// generator's own hidden states, or the other way round) is refused with a message naming both:
//   - with the real all-MiniLM-L6-v2 (scripts/setup_embed_models.sh; skipped with the reason when
//     missing), a store built with --embed-model finds the log of each of five paraphrases that share no
//     word with their task, where BM25 finds none of them; `ask --save` stores MiniLM's vector of the task;
//     every mismatch is exit 1 in the CLI and LAGVK_ERROR_STORE_MODEL_MISMATCH in the library;
//   - with random models (always): the C API saves with its embed model and refuses the generator's
//     vectors; a store made before the record keeps working and `ask --save` gives its new log a vector.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lagvk/lagvk.h"
#include "lagvk/lagvk.hpp"
#include "logstore/store.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/real_models.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string quoted(const fs::path& p) {
  return quoted(p.string());
}

/// Five tasks and a paraphrase of each that shares no word with it (BM25 splits on non-alphanumerics
/// and lowercases: no term in common, so BM25 cannot score the task's log at all).
struct Paraphrase {
  std::string task, paraphrase;
};
const std::vector<Paraphrase>& paraphrases() {
  static const std::vector<Paraphrase> p = {
      {"How do I reset my router password?", "Restoring the admin passcode on a wireless modem"},
      {"What is the boiling point of water at sea level?", "Which temperature makes H2O boil on a beach"},
      {"Recommend a good novel about space exploration",
       "Suggest some fiction books on astronauts travelling to other planets"},
      {"How can I lower my cholesterol?", "Ways to reduce LDL levels in blood"},
      {"Translate thank you into French", "Expressing gratitude the way Parisians do"},
  };
  return p;
}

/// One trace per task (JSON Lines), each answered "Answer: ok" (a word no paraphrase holds).
fs::path write_traces(const fs::path& dir, const std::vector<std::string>& tasks) {
  const fs::path file = dir / "traces.jsonl";
  std::ofstream out(file);
  for (const auto& t : tasks)
    out << nlohmann::json{{"task", t},
                          {"messages",
                           {{{"role", "user"}, {"content", t}},
                            {{"role", "assistant"}, {"content", "Answer: ok"}}}}}
               .dump()
        << "\n";
  return file;
}

void make_model(const fs::path& path, const std::string& flags) {
  const auto r = run_lagvk("make-model " + flags + " -o " + quoted(path));
  ASSERT_EQ(r.status, 0) << r.out;
}

/// A tiny random generator: the log's KV is noise, retrieval is what these tests look at.
void make_generator(const fs::path& path) {
  make_model(path, "--layers 1 --dim 64 --heads 4 --kv-heads 2 --ff 128 --vocab 512 --ctx 256 --seed 3");
}

nlohmann::json json_of(const CliResult& r) {
  EXPECT_EQ(r.status, 0) << r.out;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return {};
  }
}

/// The tasks of the logs an `ask --json` placed, best first.
std::vector<std::string> log_tasks(const nlohmann::json& answer) {
  std::vector<std::string> tasks;
  for (const auto& l : answer.at("logs")) tasks.push_back(l.at("task").get<std::string>());
  return tasks;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

std::unique_ptr<logstore::Store> open_read_only(const fs::path& dir) {
  logstore::StoreOptions o;
  o.read_only = true;
  return logstore::Store::open(dir.string(), o);
}

std::size_t log_count(const fs::path& dir) {
  return open_read_only(dir)->read().ids().size();
}

lagvk_model* load(const fs::path& path) {
  const lagvk_model_params params = lagvk_model_params_default();
  lagvk_model* m = nullptr;
  EXPECT_EQ(lagvk_model_load(path.c_str(), &params, &m), LAGVK_OK) << lagvk_last_error();
  return m;
}

/// The tasks lagvk_store_retrieve returns for query, best first.
std::vector<std::string> retrieved_tasks(lagvk_store* store, const std::string& query, lagvk_retrieval how,
                                         std::uint32_t k) {
  lagvk_retrieve_params p = lagvk_retrieve_params_default();
  p.retrieval = how;
  p.k = k;
  lagvk_log_list* list = nullptr;
  EXPECT_EQ(lagvk_store_retrieve(store, query.c_str(), &p, &list), LAGVK_OK) << lagvk_last_error();
  std::vector<std::string> tasks;
  for (std::size_t i = 0; i < lagvk_log_list_size(list); ++i)
    tasks.push_back(lagvk_log_list_get(list, i)->task);
  lagvk_log_list_free(list);
  return tasks;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void expect_mentions(const std::string& text, const std::vector<std::string>& fragments) {
  for (const auto& f : fragments) EXPECT_NE(text.find(f), std::string::npos) << f << " in:\n" << text;
}

// ---- with the real all-MiniLM-L6-v2 ------------------------------------------------------------------

/// A generator and a store of the five tasks whose vectors MiniLM made (`log add --embed-model`), built
/// once for the suite.
class MiniLmStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!minilm_f16().available()) return;
    dir_ = std::make_unique<ScratchDir>("embed_store_minilm");
    make_generator(generator());
    std::vector<std::string> tasks;
    for (const auto& p : paraphrases()) tasks.push_back(p.task);
    const auto r =
        run_lagvk("log add -s " + quoted(store()) + " -m " + quoted(generator()) + " --embed-model " +
                  quoted(minilm()) + " -t " + quoted(write_traces(dir_->path(), tasks)));
    ASSERT_EQ(r.status, 0) << r.out;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    if (!minilm_f16().available()) LAGVK_REFERENCE_MISSING(minilm_f16().missing_reason);
  }
  static fs::path generator() { return dir_->path() / "generator.gguf"; }
  static fs::path store() { return dir_->path() / "minilm_store"; }
  static fs::path minilm() { return minilm_f16().path; }
  static inline std::unique_ptr<ScratchDir> dir_;
};

TEST_F(MiniLmStore, DenseRetrievalFindsEachParaphrasesLogWhereBm25FindsNone) {
  lagvk_model* model = load(generator());
  lagvk_model* embed = load(minilm());
  lagvk_store_params params = lagvk_store_params_default();
  params.read_only = 1;
  params.embed_model = embed;
  lagvk_store* opened = nullptr;
  ASSERT_EQ(lagvk_store_open(model, store().c_str(), &params, &opened), LAGVK_OK) << lagvk_last_error();
  int dense_found = 0, bm25_found = 0;
  for (const auto& p : paraphrases()) {
    const auto dense = retrieved_tasks(opened, p.paraphrase, LAGVK_RETRIEVE_DENSE, 1);
    const bool found = !dense.empty() && dense[0] == p.task;
    dense_found += found;
    EXPECT_TRUE(found) << p.paraphrase << " -> " << (dense.empty() ? "nothing" : dense[0]);
    bm25_found += contains(retrieved_tasks(opened, p.paraphrase, LAGVK_RETRIEVE_BM25, 5), p.task);
  }
  ::testing::Test::RecordProperty("dense_found", dense_found);
  EXPECT_EQ(bm25_found, 0) << "a paraphrase shares a word with its task";
  lagvk_store_close(opened);
  lagvk_model_free(embed);
  lagvk_model_free(model);

  // `lagvk ask --embed-model` retrieves with it (dense is its default); without it, BM25 does not.
  const auto& p = paraphrases()[1];
  const std::string ask = "ask -m " + quoted(generator()) + " -s " + quoted(store()) + " -n 1 --json ";
  const auto dense =
      json_of(run_lagvk(ask + "-k 1 --embed-model " + quoted(minilm()) + " " + quoted(p.paraphrase), false));
  EXPECT_EQ(log_tasks(dense), std::vector<std::string>{p.task}) << dense.dump();
  const auto bm25 = json_of(run_lagvk(ask + "-k 5 " + quoted(p.paraphrase), false));
  EXPECT_FALSE(contains(log_tasks(bm25), p.task)) << bm25.dump();

  // `log stats` says who made the vectors.
  const auto stats = json_of(run_lagvk("log stats --json -s " + quoted(store()), false));
  EXPECT_EQ(stats.value("dense_vectors", 0), paraphrases().size()) << stats.dump();
  EXPECT_EQ(stats["embedder"].value("model_name", ""), "all-MiniLM-L6-v2") << stats.dump();
}

TEST_F(MiniLmStore, AskSaveStoresMiniLmsVectorOfTheTask) {
  const ScratchDir dir("embed_store_save");
  const fs::path store = dir.path() / "store";
  const std::string task = paraphrases()[3].task;
  const auto r = run_lagvk("ask -m " + quoted(generator()) + " -s " + quoted(store) +
                               " --save -n 2 --json --embed-model " + quoted(minilm()) + " " + quoted(task),
                           false);
  const auto answer = json_of(r);
  ASSERT_TRUE(answer.contains("saved_log")) << r.out;
  const auto expected = json_of(run_lagvk("embed -m " + quoted(minilm()) + " --json " + quoted(task), false));
  const auto minilm_vector = expected.at("embeddings").at(0).get<std::vector<float>>();
  {
    auto s = open_read_only(store);
    const auto v = s->read().embedding(answer.at("saved_log").get<std::uint64_t>());
    ASSERT_EQ(v.size(), 384u) << "the saved log has MiniLM's vector";
    EXPECT_GE(cosine(v, minilm_vector), 0.9999);
    ASSERT_TRUE(s->embedder());
    EXPECT_EQ(s->embedder()->model_name, "all-MiniLM-L6-v2");
  }
  // Saving there without the embedder is refused before answering: the store keeps its one log.
  const auto refused =
      run_lagvk("ask -m " + quoted(generator()) + " -s " + quoted(store) + " --save -n 2 " + quoted(task));
  expect_error(refused, "holds dense vectors made by another embedder", "ask --save without --embed-model");
  expect_mentions(refused.out, {"all-MiniLM-L6-v2", "the store's own model"});
  EXPECT_EQ(log_count(store), 1u);
}

TEST_F(MiniLmStore, EveryOtherEmbedderIsRefusedNamingBoth) {
  const ScratchDir dir("embed_store_refusals");
  const fs::path bert = dir.path() / "bert.gguf", own_store = dir.path() / "own";
  make_model(bert, "--arch bert --layers 1 --dim 64 --heads 4 --ff 128 --vocab 400 --ctx 64 --seed 9");
  const auto traces = write_traces(dir.path(), {paraphrases()[0].task});
  const std::string m = " -m " + quoted(generator()) + " ",
                    question = " " + quoted(paraphrases()[0].paraphrase);
  const std::size_t logs = log_count(store());

  // Querying or adding with the generator's hidden states, or with another embedding model.
  const auto dense = run_lagvk("ask" + m + "-s " + quoted(store()) + " --retrieval dense -n 1" + question);
  expect_error(dense, "holds dense vectors made by another embedder", "ask --retrieval dense");
  expect_mentions(dense.out, {"all-MiniLM-L6-v2", "the store's own model", "\nhint: "});
  const auto add_own = run_lagvk("log add -s " + quoted(store()) + m + "--embed -t " + quoted(traces));
  expect_error(add_own, "holds dense vectors made by another embedder", "log add --embed");
  expect_mentions(add_own.out, {"all-MiniLM-L6-v2", "the store's own model"});
  const auto add_bert = run_lagvk("log add -s " + quoted(store()) + m + "--embed-model " + quoted(bert) +
                                  " -t " + quoted(traces));
  expect_error(add_bert, "holds dense vectors made by another embedder", "log add --embed-model (another)");
  expect_mentions(add_bert.out, {"all-MiniLM-L6-v2", "lagvk-random-bert"});
  EXPECT_EQ(log_count(store()), logs) << "nothing was added";

  // The other way round: a store of the generator's own vectors refuses MiniLM.
  ASSERT_EQ(run_lagvk("log add -s " + quoted(own_store) + m + "--embed -t " + quoted(traces)).status, 0);
  const auto ask_minilm = run_lagvk("ask" + m + "-s " + quoted(own_store) + " --embed-model " +
                                    quoted(minilm()) + " -n 1" + question);
  expect_error(ask_minilm, "holds dense vectors made by another embedder",
               "ask --embed-model on a store of own vectors");
  expect_mentions(ask_minilm.out, {"all-MiniLM-L6-v2", "the store's own model"});

  // The library: an app can branch on the status.
  lagvk_model* model = load(generator());
  lagvk_model* other = load(bert);
  lagvk_store_params params = lagvk_store_params_default();
  params.read_only = 1;
  params.embed_model = other;
  lagvk_store* s = nullptr;
  EXPECT_EQ(lagvk_store_open(model, store().c_str(), &params, &s), LAGVK_ERROR_STORE_MODEL_MISMATCH);
  expect_mentions(lagvk_last_error(), {"all-MiniLM-L6-v2", "lagvk-random-bert"});
  EXPECT_EQ(s, nullptr);
  lagvk_model_free(other);
  lagvk_model_free(model);
}

// ---- with random models ------------------------------------------------------------------------------

class RandomEmbedStore : public ::testing::Test {
 protected:
  void SetUp() override {
    make_generator(generator_);
    // A decoder embedding model as Qwen3-Embedding files are: qwen3, last-token pooling.
    make_model(embedder_,
               "--arch qwen3 --pooling last --layers 1 --dim 64 --heads 4 --kv-heads 2 --ff 128 --vocab 400 "
               "--ctx 128 --seed 4");
  }
  const ScratchDir dir_{"embed_store_random"};
  const fs::path generator_ = dir_.path() / "generator.gguf", embedder_ = dir_.path() / "qwen3_embed.gguf";
};

TEST_F(RandomEmbedStore, TheLibrarySavesWithItsEmbedModelAndRefusesTheModelsOwnVectors) {
  const fs::path dir = dir_.path() / "store";
  const std::string added_task = "where was mara ellison born", asked = "which country is port alden in";
  {
    cpp::Model model(generator_.string()), embed(embedder_.string());
    cpp::Store store(model, embed, dir.string(), cpp::Store::create_params());
    const nlohmann::json trace{
        {"task", added_task},
        {"messages",
         {{{"role", "user"}, {"content", added_task}}, {{"role", "assistant"}, {"content", "Answer: ok"}}}}};
    const auto added =
        store.add_trace(trace.dump());  // embed is false: the embed model gives a vector anyway
    cpp::AskOptions ask;
    ask.params.save = 1;
    ask.params.generate.max_tokens = 2;
    ask.params.mode = LAGVK_LOGS_NONE;
    const auto saved = store.ask(asked, ask).saved_log();
    ASSERT_TRUE(saved);
    lagvk_retrieve_params dense = lagvk_retrieve_params_default();
    dense.retrieval = LAGVK_RETRIEVE_DENSE;
    dense.k = 1;
    // Each log's vector is the embed model's of its task: its own text scores a cosine of 1.
    for (const auto& [query, id] : {std::pair{added_task, added}, std::pair{asked, *saved}}) {
      const auto found = store.retrieve(query, dense);
      ASSERT_EQ(found.size(), 1u);
      EXPECT_EQ(found[0].id, id) << query;
      EXPECT_NEAR(found[0].score, 1.0, 1e-4) << query;
    }
  }
  EXPECT_EQ(open_read_only(dir)->embedder()->kind, logstore::EmbedderFingerprint::kModel);

  lagvk_model* model = load(generator_);
  const lagvk_store_params params = lagvk_store_params_default();  // embed_model NULL: the model's own
  lagvk_store* store = nullptr;
  ASSERT_EQ(lagvk_store_open(model, dir.c_str(), &params, &store), LAGVK_OK) << lagvk_last_error();
  lagvk_retrieve_params dense = lagvk_retrieve_params_default();
  dense.retrieval = LAGVK_RETRIEVE_DENSE;
  lagvk_log_list* list = nullptr;
  EXPECT_EQ(lagvk_store_retrieve(store, asked.c_str(), &dense, &list), LAGVK_ERROR_STORE_MODEL_MISMATCH);
  expect_mentions(lagvk_last_error(), {"another embedder", "the store's own model", "embedding model"});
  const std::string trace =
      nlohmann::json{{"task", "x"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}.dump();
  std::uint64_t id = 0;
  EXPECT_EQ(lagvk_store_add_trace(store, trace.data(), trace.size(), LAGVK_SELECT_FULL, 1, &id),
            LAGVK_ERROR_STORE_MODEL_MISMATCH);
  lagvk_ask_params ask = lagvk_ask_params_default();
  ask.save = 1;
  ask.generate.max_tokens = 2;
  lagvk_completion* out = nullptr;
  EXPECT_EQ(lagvk_ask(store, asked.c_str(), &ask, &out), LAGVK_ERROR_STORE_MODEL_MISMATCH);
  lagvk_completion_free(out);
  std::uint64_t logs = 0;
  EXPECT_EQ(lagvk_store_count(store, &logs), LAGVK_OK);
  EXPECT_EQ(logs, 2u) << "nothing was added";
  EXPECT_EQ(retrieved_tasks(store, asked, LAGVK_RETRIEVE_BM25, 1).size(), 1u) << "BM25 needs no embedder";
  lagvk_store_close(store);
  lagvk_model_free(model);
}

TEST_F(RandomEmbedStore, AStoreMadeBeforeTheRecordKeepsItsOwnVectorsAndSaveAddsOne) {
  const fs::path store = dir_.path() / "old";
  const std::vector<std::string> tasks = {"where was mara ellison born", "which country is port alden in"};
  const std::string m = " -m " + quoted(generator_) + " -s " + quoted(store) + " ";
  ASSERT_EQ(run_lagvk("log add" + m + "--embed -t " + quoted(write_traces(dir_.path(), tasks))).status, 0);
  ASSERT_TRUE(remove_raw(store.string(), "meta", "embedder"));  // as an older lagvk left it

  const auto found =
      json_of(run_lagvk("ask" + m + "--retrieval dense -k 1 -n 1 --json " + quoted(tasks[1]), false));
  EXPECT_EQ(log_tasks(found), std::vector<std::string>{tasks[1]}) << found.dump();
  const auto saved = json_of(run_lagvk("ask" + m + "--save -n 2 --json 'who founded port alden'", false));
  ASSERT_TRUE(saved.contains("saved_log")) << saved.dump();
  {
    auto s = open_read_only(store);
    EXPECT_EQ(s->read().embedding(saved.at("saved_log").get<std::uint64_t>()).size(), 64u)
        << "a store with dense retrieval gives the saved task a vector (the model's own)";
    EXPECT_EQ(s->embedder()->kind, logstore::EmbedderFingerprint::kGenerator);
  }
  const auto refused = run_lagvk("log add" + m + "--embed-model " + quoted(embedder_) + " -t " +
                                 quoted(write_traces(dir_.path(), {"another task"})));
  expect_error(refused, "holds dense vectors made by another embedder",
               "log add --embed-model on an old store");
  expect_mentions(refused.out, {"the store's own model", "lagvk-random-qwen3"});
  EXPECT_EQ(log_count(store), 3u);
}

TEST_F(RandomEmbedStore, TheStoreKeepsItsEmbedModelLoadedAndRefusesTheModelItself) {
  lagvk_model* model = load(generator_);
  lagvk_model* embed = load(embedder_);
  lagvk_store_params params = cpp::Store::create_params();
  params.embed_model = model;
  lagvk_store* store = nullptr;
  const std::string dir = (dir_.path() / "kept").string();
  EXPECT_EQ(lagvk_store_open(model, dir.c_str(), &params, &store), LAGVK_ERROR_INVALID_ARGUMENT);
  expect_mentions(lagvk_last_error(), {"embed_model is the store's model itself"});
  params.embed_model = embed;
  ASSERT_EQ(lagvk_store_open(model, dir.c_str(), &params, &store), LAGVK_OK) << lagvk_last_error();
  lagvk_model_free(embed);  // the store holds it until it closes
  const std::string task = "where was mara ellison born";
  const std::string trace =
      nlohmann::json{{"task", task}, {"messages", {{{"role", "user"}, {"content", task}}}}}.dump();
  std::uint64_t id = 0;
  EXPECT_EQ(lagvk_store_add_trace(store, trace.data(), trace.size(), LAGVK_SELECT_FULL, 0, &id), LAGVK_OK)
      << lagvk_last_error();
  EXPECT_EQ(retrieved_tasks(store, task, LAGVK_RETRIEVE_DENSE, 1), std::vector<std::string>{task});
  lagvk_store_close(store);
  lagvk_model_free(model);
}

TEST(EvalEmbedModel, LoadsTheEmbedModelItIsGiven) {
  // A full eval run takes minutes; here the flag is read and its file loaded (a missing one is named).
  const auto r =
      run_lagvk("eval -m " + quoted(std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf") +
                " --limit 1 --embed-model /nonexistent/embed.gguf");
  expect_error(r, "cannot open '/nonexistent/embed.gguf'", "eval --embed-model");
}

TEST(ServeEmbedModel, NeedsAStore) {
  const auto r = run_lagvk("serve -m model.gguf --embed-model embed.gguf");
  expect_error(r, "--embed-model FILE makes the vectors of the --store DIR's logs", "serve --embed-model");
}

}  // namespace
}  // namespace lagvk::test
