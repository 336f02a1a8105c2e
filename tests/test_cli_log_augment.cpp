// 'lagvk log augment': logs already in a store augmented offline. An augmented log is the log 'log add
// --coprocessor' stores from the same trace (record and pages bit for bit) with its old id, tags, time and
// retrieval text; 'ask' splices it as it splices that one; a log without a trace is skipped and kept; logs
// with latents are left alone without --force; another model's store and coprocessor are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/model/random_model.hpp"
#include "logstore/store.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/models.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/synthetic_logs.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

/// A log as a store keeps it: its record and every page's K and V, fp16 bits.
struct StoredLog {
  logstore::LogRecord record;
  std::vector<std::vector<std::uint16_t>> k, v;  ///< [layer], all pages joined
  std::vector<float> embedding;
};

StoredLog stored_log(const std::string& dir, logstore::LogId id) {
  logstore::StoreOptions o;
  o.read_only = true;
  auto store = logstore::Store::open(dir, o);
  auto r = store->read();
  StoredLog out;
  const auto rec = r.log(id);
  if (!rec) ADD_FAILURE() << "no log " << id << " in " << dir;
  if (!rec) return out;
  out.record = *rec;
  out.embedding = r.embedding(id);
  const auto layers = store->fingerprint().layers;
  out.k.resize(layers);
  out.v.resize(layers);
  for (std::uint32_t l = 0; l < layers; ++l)
    for (std::uint32_t p = 0; p < r.pages_of(std::uint32_t(rec->kv_tokens())); ++p) {
      std::vector<std::uint16_t> k, v;
      logstore::decode_page(r.page(id, l, p), k, v);
      out.k[l].insert(out.k[l].end(), k.begin(), k.end());
      out.v[l].insert(out.v[l].end(), v.begin(), v.end());
    }
  return out;
}

class CliLogAugment : public ::testing::Test {
 protected:
  void SetUp() override {
    values_ = {{"decoder", (dir_.path() / "decoder.gguf").string()},
               {"other", (dir_.path() / "other.gguf").string()},
               {"made", (dir_.path() / "made.gguf").string()},
               {"other_made", (dir_.path() / "other-made.gguf").string()},
               {"store", (dir_.path() / "store").string()},
               {"direct", (dir_.path() / "direct").string()},
               {"traces", (dir_.path() / "traces.jsonl").string()},
               {"short_traces", (dir_.path() / "short.jsonl").string()}};
    make_random_model(small_model_spec(GgmlType::f16, 1)).write(values_["decoder"]);
    make_random_model(small_model_spec(GgmlType::f16, 2)).write(values_["other"]);
    const std::string a = R"({"task": "who directed the glass harbor", "messages": [)"
                          R"({"role": "user", "content": "who directed the glass harbor"}, )"
                          R"({"role": "assistant", "content": "Answer: Mara Ellison"}], "tags": ["film"]})";
    const std::string b = R"({"task": "where is the red tower", "messages": [)"
                          R"({"role": "user", "content": "where is the red tower"}, )"
                          R"({"role": "assistant", "content": "It stands in Lund. Answer: Lund"}]})";
    const std::string c = R"({"task": "what colour is the sea", "messages": [)"
                          R"({"role": "user", "content": "what colour is the sea"}, )"
                          R"({"role": "assistant", "content": "Answer: grey"}]})";
    std::ofstream(values_["traces"]) << a << "\n" << b << "\n" << c << "\n";
    std::ofstream(values_["short_traces"]) << a << "\n" << b << "\n";
  }

  ScratchDir dir_{"cli_log_augment"};
  Placeholders values_;
};

TEST_F(CliLogAugment, AugmentedLogsAreWhatLogAddStoresAndAskSplicesThem) {
  ASSERT_EQ(
      run_case({"make", "coprocessor make -m {decoder} --latents 5 --seed 3 -o {made}", kExitOk, {}}, values_)
          .run.status,
      0);
  // Three plain logs (with dense vectors, which augmentation keeps); the third loses its trace, as a log
  // imported from an older lagvk might.
  ASSERT_EQ(
      run_case({"log add", "log add --store {store} -m {decoder} --trace {traces} --embed", kExitOk, {}},
               values_)
          .run.status,
      0);
  const StoredLog before1 = stored_log(values_["store"], 1), before3 = stored_log(values_["store"], 3);
  {
    logstore::LogRecord no_trace = before3.record;
    no_trace.trace = nlohmann::json::array();
    put_raw_record(values_["store"], 3, logstore::encode_record_value(no_trace));
  }
  // The same two traces stored augmented by 'log add --coprocessor'.
  ASSERT_EQ(run_case({"log add augmented",
                      "log add --store {direct} -m {decoder} --trace {short_traces} --coprocessor {made} "
                      "--latents 3",
                      kExitOk,
                      {}},
                     values_)
                .run.status,
            0);

  const std::vector<JsonField> summary = {{"/augmented", JsonType::integer},
                                          {"/skipped", JsonType::integer},
                                          {"/already_augmented", JsonType::integer},
                                          {"/latents", JsonType::integer},
                                          {"/seconds", JsonType::number},
                                          {"/skipped_logs/0/reason", JsonType::string}};
  const CaseResult first = run_case({"augment",
                                     "log augment --store {store} -m {decoder} --coprocessor {made} "
                                     "--latents 3 --json",
                                     kExitOk,
                                     {},
                                     summary},
                                    values_);
  EXPECT_EQ(first.json["augmented"], 2);
  EXPECT_EQ(first.json["skipped"], 1);
  EXPECT_EQ(first.json["already_augmented"], 0);
  EXPECT_EQ(first.json["latents"], 3);
  EXPECT_EQ(first.json["skipped_logs"][0]["id"], 3);
  EXPECT_NE(first.json["skipped_logs"][0]["reason"].get<std::string>().find("no trace"), std::string::npos)
      << first.json.dump();

  for (const logstore::LogId id : {1, 2}) {
    SCOPED_TRACE("log " + std::to_string(id));
    const StoredLog got = stored_log(values_["store"], id), want = stored_log(values_["direct"], id);
    EXPECT_EQ(got.record.latents, 3u);
    EXPECT_EQ(got.record.latents, want.record.latents);
    EXPECT_EQ(got.record.token_ids, want.record.token_ids);
    EXPECT_EQ(got.record.positions, want.record.positions);
    EXPECT_EQ(got.record.selection, want.record.selection);
    EXPECT_EQ(got.record.trace, want.record.trace);
    ASSERT_FALSE(got.k.empty() || got.k[0].empty());
    EXPECT_EQ(got.k, want.k) << "keys differ from 'log add --coprocessor''s";
    EXPECT_EQ(got.v, want.v) << "values differ from 'log add --coprocessor''s";
    EXPECT_FALSE(got.embedding.empty()) << "the dense vector was dropped";
  }
  // What identifies and finds the log stayed; the skipped log is as it was.
  const StoredLog after1 = stored_log(values_["store"], 1), after3 = stored_log(values_["store"], 3);
  EXPECT_EQ(after1.record.created, before1.record.created);
  EXPECT_EQ(after1.record.tags, before1.record.tags);
  EXPECT_EQ(after1.record.retrieval_text, before1.record.retrieval_text);
  EXPECT_EQ(after1.embedding, before1.embedding);
  EXPECT_EQ(after3.record.latents, 0u);
  EXPECT_EQ(after3.k, before3.k);
  EXPECT_EQ(after3.embedding, before3.embedding);

  // 'ask' splices the offline-augmented log exactly as the one 'log add --coprocessor' made: tokens and
  // latents, the same answer.
  const std::vector<JsonField> asked = {{"/logs/0/tokens", JsonType::integer}, {"/tokens", JsonType::array}};
  const CaseResult from_augmented = run_case({"ask the augmented store",
                                              "ask -m {decoder} -s {store} -k 1 --tag film -n 6 --json "
                                              "'who directed the glass harbor'",
                                              kExitOk,
                                              {},
                                              asked},
                                             values_);
  const CaseResult from_direct = run_case({"ask the log add store",
                                           "ask -m {decoder} -s {direct} -k 1 --tag film -n 6 --json "
                                           "'who directed the glass harbor'",
                                           kExitOk,
                                           {},
                                           asked},
                                          values_);
  EXPECT_EQ(from_augmented.json["logs"][0]["tokens"], after1.record.token_ids.size() + 3);
  EXPECT_EQ(from_augmented.json["logs"][0]["tokens"], from_direct.json["logs"][0]["tokens"]);
  EXPECT_EQ(from_augmented.json["tokens"], from_direct.json["tokens"]);

  // Again: nothing to do without --force; with it, the latents are replaced (here by all five).
  const CaseResult again = run_case({"augment again",
                                     "log augment -s {store} --model {decoder} --coprocessor {made} --json",
                                     kExitOk,
                                     {},
                                     summary},
                                    values_);
  EXPECT_EQ(again.json["augmented"], 0);
  EXPECT_EQ(again.json["already_augmented"], 2);
  run_case({"augment again, text",
            "log augment -s {store} -m {decoder} --coprocessor {made}",
            kExitOk,
            {"0 of 3 logs augmented", "2 already augmented (--force encodes them again)", "1 skipped",
             "warning: skipped log 3"}},
           values_);
  const CaseResult forced =
      run_case({"force",
                "log augment -s {store} -m {decoder} --coprocessor {made} --force --ctx 256 "
                "-d -1 --device -1",
                kExitOk,
                {"augmented log 1 (", "+ 5 latents)", "2 of 3 logs augmented"}},
               values_);
  (void)forced;
  EXPECT_EQ(stored_log(values_["store"], 2).record.latents, 5u);
  run_case({"verify", "log verify --store {store}", kExitOk, {"ok: 3 logs"}}, values_);
}

TEST_F(CliLogAugment, RefusesWhatCannotAugmentTheStore) {
  ASSERT_EQ(run_case({"make", "coprocessor make -m {decoder} --latents 2 -o {made}", kExitOk, {}}, values_)
                .run.status,
            0);
  ASSERT_EQ(run_case({"make other", "coprocessor make -m {other} --latents 2 -o {other_made}", kExitOk, {}},
                     values_)
                .run.status,
            0);
  ASSERT_EQ(run_case({"log add", "log add --store {store} -m {decoder} --trace {short_traces}", kExitOk, {}},
                     values_)
                .run.status,
            0);
  run_cases(
      {{"another model's store",
        "log augment --store {store} -m {other} --coprocessor {other_made}",
        kExitError,
        {"was made with another model"}},
       {"another model's coprocessor",
        "log augment --store {store} -m {decoder} --coprocessor {other_made}",
        kExitError,
        {"was trained for the decoder"}},
       {"no coprocessor",
        "log augment --store {store} -m {decoder}",
        kExitError,
        {"--coprocessor FILE is required"}},
       {"too many latents",
        "log augment --store {store} -m {decoder} --coprocessor {made} --latents 3",
        kExitError,
        {"exceeds the 2 soft tokens"}},
       {"no store", "log augment --store {store}-missing -m {decoder} --coprocessor {made}", kExitError, {}},
       {"short help", "log augment -h", kExitOk, {"--coprocessor FILE"}},
       {"help",
        "log augment --help",
        kExitOk,
        {"Cache augmentation of stored logs", "splice a log's latents", "--force"}}},
      values_);
  // Nothing was changed by the refusals.
  EXPECT_EQ(stored_log(values_["store"], 1).record.latents, 0u);
}

}  // namespace
}  // namespace lagvk::test
