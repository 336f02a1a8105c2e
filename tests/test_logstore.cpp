// The LMDB log store: round trips, zero-copy pages, fingerprints, checksums, deletion, growth and
// "store full", BM25 against hand-computed scores, and logs surviving a writer killed mid-write.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/core/error.hpp"
#include "engine/core/half.hpp"
#include "logstore/archive.hpp"
#include "logstore/bm25.hpp"
#include "logstore/store.hpp"
#include "tests/support/synthetic_logs.hpp"
#include "tests/support/thrown_error.hpp"

namespace lagvk::logstore {
namespace {

namespace fs = std::filesystem;
using lagvk::test::error_of;

using test::fresh_store_dir;
using test::small_fingerprint;
using test::synthetic_log;
using test::SyntheticLog;

TEST(LogStore, RoundTripsLogsAndPages) {
  const auto dir = fresh_store_dir("roundtrip");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const auto log = synthetic_log(7, 1, "who directed the glass harbor");  // pages of 3, 3, 1 tokens
  const LogId id = store->put_log(log.record, log.input());
  auto r = store->read();
  const auto rec = r.log(id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->task, log.record.task);
  EXPECT_EQ(rec->token_ids, log.record.token_ids);
  EXPECT_EQ(rec->positions, log.record.positions);
  for (std::uint32_t l = 0; l < 2; ++l) {
    std::vector<std::uint16_t> k, v;
    for (std::uint32_t p = 0; p < 3; ++p) {
      const PageView page = r.page(id, l, p);
      EXPECT_EQ(page.tokens, p < 2 ? 3u : 1u);
      k.insert(k.end(), page.k.begin(), page.k.end());
      v.insert(v.end(), page.v.begin(), page.v.end());
    }
    EXPECT_EQ(k, log.k[l]);
    EXPECT_EQ(v, log.v[l]);
  }
  EXPECT_FALSE(r.log(id + 1));
  EXPECT_TRUE(store->verify().ok());
}

TEST(LogStore, RefusesAnotherModel) {
  const auto dir = fresh_store_dir("fingerprint");
  { auto store = Store::open(dir, {true, small_fingerprint()}); }
  Fingerprint other = small_fingerprint();
  other.model_hash = "zzz999";
  try {
    (void)Store::open(dir, {false, other});
    FAIL() << "a store made with another model must be refused";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("another model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("abc123"), std::string::npos) << msg;
    EXPECT_NE(msg.find("zzz999"), std::string::npos) << msg;
  }
  EXPECT_THROW((void)Store::open(fresh_store_dir("missing"), {false, small_fingerprint()}), Error);
}

/// A library message names no command-line flag or lagvk command (the CLI adds its own hints).
void expect_library_wording(const std::string& message) {
  EXPECT_EQ(message.find("--"), std::string::npos) << message;
  EXPECT_EQ(message.find("'lagvk "), std::string::npos) << message;
}

TEST(LogStore, ErrorsCarryTheirCodes) {
  const auto dir = fresh_store_dir("codes");
  { auto store = Store::open(dir, {true, small_fingerprint()}); }
  Fingerprint other = small_fingerprint();
  other.model_hash = "zzz999";
  const auto mismatch = error_of([&] { (void)Store::open(dir, {false, other}); });
  EXPECT_EQ(mismatch.first, Errc::store_model_mismatch) << mismatch.second;
  expect_library_wording(mismatch.second);
  const auto missing = error_of([&] {
    (void)Store::open(fresh_store_dir("codes_missing"), {false, small_fingerprint()});
  });
  EXPECT_EQ(missing.first, Errc::file_not_found) << missing.second;
  expect_library_wording(missing.second);
  const auto not_dir = error_of([&] { (void)Store::open(dir + "/data.mdb", {true, small_fingerprint()}); });
  EXPECT_EQ(not_dir.first, Errc::invalid_argument) << not_dir.second;
  expect_library_wording(not_dir.second);
  const auto bad_record = error_of([&] { (void)decode_record_value("{not json"); });
  EXPECT_EQ(bad_record.first, Errc::bad_input) << bad_record.second;
  // A store that cannot grow further: the store's own failure.
  StoreOptions small{true, small_fingerprint(), 1 << 20, 1 << 20};
  auto store = Store::open(fresh_store_dir("codes_full"), small);
  const auto big = synthetic_log(3000, 5, "big");
  const auto full = error_of([&] {
    for (int i = 0; i < 100; ++i) (void)store->put_log(big.record, big.input());
  });
  EXPECT_EQ(full.first, Errc::store) << full.second;
  expect_library_wording(full.second);
}

TEST(LogStore, DetectsACorruptedPage) {
  const auto dir = fresh_store_dir("corrupt");
  LogId id = 0;
  std::vector<std::uint16_t> needle;
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    const auto log = synthetic_log(3, 2, "t");
    id = store->put_log(log.record, log.input());
    needle = log.k[1];
  }
  // Flip one byte of layer 1's keys inside the data file.
  std::fstream f(fs::path(dir) / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  const std::string pattern(reinterpret_cast<const char*>(needle.data()), needle.size() * 2);
  const auto at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  f.seekp(std::streamoff(at + 5));
  f.put(char(bytes[at + 5] ^ 0x40));
  f.close();
  auto store = Store::open(dir, {false, small_fingerprint()});
  try {
    (void)store->read().page(id, 1, 0);
    FAIL() << "corruption must be detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("log " + std::to_string(id)), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), Errc::store);
    expect_library_wording(e.what());
  }
  EXPECT_FALSE(store->verify().ok());
}

TEST(LogStore, RemoveReclaimsPages) {
  const auto dir = fresh_store_dir("remove");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const auto a = synthetic_log(5, 3, "a"), b = synthetic_log(4, 4, "b");
  const LogId ia = store->put_log(a.record, a.input());
  store->put_log(b.record, b.input());
  EXPECT_EQ(store->stats().pages, 2u * 2 + 2u * 2);
  EXPECT_TRUE(store->remove(ia));
  EXPECT_FALSE(store->remove(ia));
  const auto s = store->stats();
  EXPECT_EQ(s.logs, 1u);
  EXPECT_EQ(s.pages, 4u);
  EXPECT_TRUE(store->verify().ok());
}

TEST(LogStore, AFullMapIsReportedWithoutNamingAFlagThatDoesNotExist) {
  try {
    check_mdb(MDB_MAP_FULL, "deleting a log");
    FAIL() << "MDB_MAP_FULL is an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("full"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("--max-size"), std::string::npos) << "lagvk has no --max-size flag: " << msg;
  }
}

TEST(LogStore, IdsAreNeverReusedAfterRemove) {
  const auto dir = fresh_store_dir("ids");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const auto log = synthetic_log(2, 1, "a");
  std::vector<LogId> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(store->put_log(log.record, log.input()));
  ASSERT_TRUE(store->remove(ids[2]));
  const LogId next = store->put_log(log.record, log.input());
  EXPECT_GT(next, ids[2]) << "the id of a removed log was given again";
  for (LogId id : {ids[0], ids[1], next}) ASSERT_TRUE(store->remove(id));
  store.reset();
  // Also across reopening, with the store empty.
  store = Store::open(dir, {false, small_fingerprint()});
  EXPECT_GT(store->put_log(log.record, log.input()), next);
}

TEST(LogStore, GrowsItsMapAndThenReportsStoreFull) {
  const auto dir = fresh_store_dir("grow");
  StoreOptions o{true, small_fingerprint(), 1 << 20, 4 << 20};
  auto store = Store::open(dir, o);
  const auto big = synthetic_log(3000, 5, "big");  // about 200 KB per log
  int written = 0;
  try {
    for (; written < 100; ++written) store->put_log(big.record, big.input());
    FAIL() << "a 4 MiB store cannot hold 100 logs of 200 KB";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("store full"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("--max-size"), std::string::npos) << "no such flag: " << e.what();
  }
  EXPECT_GT(written, 5) << "the map should have grown past its initial 1 MiB";
  EXPECT_TRUE(store->verify().ok());
  EXPECT_EQ(store->stats().logs, std::uint64_t(written));
}

TEST(Bm25, MatchesHandComputedScores) {
  // N = 3, avgdl = (3 + 2 + 4) / 3 = 3. Query "cat": n = 2, idf = ln(1 + 1.5 / 2.5) = ln 1.6.
  const Bm25 index({"the cat sat", "dog ran", "a cat and cat"});
  const auto s = index.scores("Cat!");
  const double idf = std::log(1.6);
  const double d0 = idf * 1 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 3.0 / 3.0));
  const double d2 = idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 4.0 / 3.0));
  EXPECT_NEAR(s[0], d0, 1e-12);
  EXPECT_EQ(s[1], 0.0);
  EXPECT_NEAR(s[2], d2, 1e-12);
}

TEST(LogStore, SearchAccumulatesWithoutDuplicatesAndFiltersTags) {
  const auto dir = fresh_store_dir("search");
  auto store = Store::open(dir, {true, small_fingerprint()});
  auto a = synthetic_log(2, 6, "who directed the glass harbor"),
       b = synthetic_log(2, 7, "where was mara ellison born"), c = synthetic_log(2, 8, "capital of veloria");
  c.record.tags = {"geo"};
  const LogId ia = store->put_log(a.record, a.input()), ib = store->put_log(b.record, b.input()),
              ic = store->put_log(c.record, c.input());
  const auto first = store->search("glass harbor director", 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, ia);
  // The next query adds its best log not yet taken; logs sharing no term with it are not returned.
  const auto next = store->search("mara ellison glass harbor", 2, {ia});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, ib);
  const auto geo = store->search("capital", 5, {}, {"geo"});
  ASSERT_EQ(geo.size(), 1u);
  EXPECT_EQ(geo[0].id, ic);
}

TEST(LogStore, Q8PagesHalveStorageWithinTheQuantizationBound) {
  Fingerprint f = small_fingerprint();
  f.kv_heads = 2;
  f.head_dim = 16;  // rows of 32 values: one Q8_0 block per token
  StoreOptions o{true, f};
  o.codec = PageCodec::q8_0;
  const auto dir = fresh_store_dir("q8");
  auto store = Store::open(dir, o);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  const std::uint32_t tokens = 7;
  std::vector<std::vector<std::uint16_t>> k(2), v(2);
  for (int l = 0; l < 2; ++l)
    for (std::uint32_t i = 0; i < tokens * 32; ++i) {
      k[std::size_t(l)].push_back(float_to_half(dist(rng)));
      v[std::size_t(l)].push_back(float_to_half(dist(rng)));
    }
  LogRecord rec;
  rec.task = "q8";
  rec.token_ids.assign(tokens, 1);
  rec.positions.assign(tokens, 0);
  const LogId id = store->put_log(rec, {tokens, {k[0], k[1]}, {v[0], v[1]}});
  auto r = store->read();
  std::vector<std::uint16_t> got_k, got_v;
  double max_err = 0;
  for (std::uint32_t p = 0; p < 3; ++p) {
    const PageView page = r.page(id, 1, p);
    EXPECT_EQ(page.codec, PageCodec::q8_0);
    EXPECT_EQ(page.k_q8.size(), page.tokens * 34u) << "34 bytes per 32 values instead of 64";
    std::vector<std::uint16_t> pk, pv;
    decode_page(page, pk, pv);
    got_k.insert(got_k.end(), pk.begin(), pk.end());
  }
  // Each block of 32 shares a scale d = amax / 127: the error is at most d / 2 (plus fp16 rounding).
  for (std::uint32_t t = 0; t < tokens; ++t) {
    float amax = 0;
    for (int i = 0; i < 32; ++i)
      amax = std::max(amax, std::fabs(half_to_float(k[1][t * 32 + std::size_t(i)])));
    for (int i = 0; i < 32; ++i) {
      const double e = std::fabs(half_to_float(got_k[t * 32 + std::size_t(i)]) -
                                 half_to_float(k[1][t * 32 + std::size_t(i)]));
      max_err = std::max(max_err, e / amax);
      EXPECT_LE(e, amax / 127.0 / 2.0 + 2e-3) << "token " << t << " element " << i;
    }
  }
  std::printf("q8_0 pages: max error %.4f of the block's largest value\n", max_err);
  EXPECT_TRUE(store->verify().ok());
  Store::open(dir, {false, f}).reset();  // reopening keeps the codec
  EXPECT_EQ(Store::open(dir, {false, f})->codec(), PageCodec::q8_0);
}

TEST(LogStore, DenseSearchRanksByCosine) {
  const auto dir = fresh_store_dir("dense");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const auto a = synthetic_log(2, 9, "a"), b = synthetic_log(2, 10, "b"), c = synthetic_log(2, 11, "c");
  const std::vector<float> va = {1, 0, 0}, vb = {0.6f, 0.8f, 0}, vc = {0, 0, 5};
  const LogId ia = store->put_log(a.record, a.input(), va), ib = store->put_log(b.record, b.input(), vb);
  store->put_log(c.record, c.input(), vc);
  const std::vector<float> q = {2, 0, 0};  // cosines: a 1, b 0.6, c 0
  const auto top = store->search_dense(q, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, ia);
  EXPECT_NEAR(top[0].score, 1.0, 1e-6);
  EXPECT_EQ(top[1].id, ib);
  EXPECT_NEAR(top[1].score, 0.6, 1e-6);
  EXPECT_EQ(store->search_dense(q, 5, {ia}).front().id, ib);
  EXPECT_TRUE(store->search_dense(std::vector<float>{1, 2}, 3).empty()) << "wrong dimension matches nothing";
}

TEST(LogStore, DenseSearchOfAStoreWithoutVectorsIsAnError) {
  const auto dir = fresh_store_dir("dense_none");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const auto a = synthetic_log(2, 9, "a"), b = synthetic_log(2, 10, "b");
  store->put_log(a.record, a.input());
  const std::vector<float> q = {1, 0, 0};
  try {
    (void)store->search_dense(q, 3);
    FAIL() << "dense search over a store without vectors must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("has a dense vector"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->dense_vector_count(), 0u);
  const LogId ib = store->put_log(b.record, b.input(), std::vector<float>{0, 1, 0});
  EXPECT_EQ(store->dense_vector_count(), 1u);
  const auto found = store->search_dense(q, 3);  // among the logs with a vector only
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, ib);
}

/// An embedding model's identity as lag::embedder_fingerprint writes it (made-up hashes).
EmbedderFingerprint embedding_model(const std::string& name, const std::string& hash) {
  EmbedderFingerprint e;
  e.kind = EmbedderFingerprint::kModel;
  e.model_name = name;
  e.model_hash = hash;
  e.tokenizer_hash = "abcd";
  e.dim = 3;
  e.pooling = "mean";
  return e;
}

TEST(LogStoreEmbedder, TheFirstVectorRecordsItsEmbedderAndAnotherIsRefused) {
  const auto dir = fresh_store_dir("embedder");
  auto store = Store::open(dir, {true, small_fingerprint()});
  const auto minilm = embedding_model("MiniLM", "1111"), other = embedding_model("Other", "2222");
  const auto a = synthetic_log(2, 9, "a"), b = synthetic_log(2, 10, "b");
  EXPECT_FALSE(store->embedder()) << "no vector yet: no dense retrieval";
  store->put_log(a.record, a.input());  // a log without a vector records nothing
  EXPECT_FALSE(store->embedder());
  store->check_embedder(other);  // a store without vectors accepts any embedder
  const std::vector<float> v = {1, 0, 0};
  const LogId ia = store->put_log(a.record, a.input(), v, minilm);
  ASSERT_TRUE(store->embedder());
  EXPECT_EQ(*store->embedder(), minilm);
  for (const auto& wrong : {other, EmbedderFingerprint{}}) {
    const auto [code, message] = error_of([&] { (void)store->put_log(b.record, b.input(), v, wrong); });
    EXPECT_EQ(code, Errc::store_model_mismatch) << message;
    for (const std::string& fragment :
         std::vector<std::string>{dir, "another embedder", "MiniLM", wrong.describe()})
      EXPECT_NE(message.find(fragment), std::string::npos) << fragment << " in: " << message;
    const auto [search_code, search_message] =
        error_of([&] { (void)store->search_dense(v, 3, {}, {}, wrong); });
    EXPECT_EQ(search_code, Errc::store_model_mismatch) << search_message;
  }
  EXPECT_EQ(store->read().ids().size(), 2u) << "a refused log is not written";
  EXPECT_EQ(store->search_dense(v, 3, {}, {}, minilm).front().id, ia);
  store.reset();
  // The record survives reopening, and an export carries it to the store it is imported into.
  store = Store::open(dir, {false, small_fingerprint()});
  EXPECT_EQ(*store->embedder(), minilm);
  std::stringstream archive;
  (void)export_logs(*store, archive);
  const auto copy_dir = fresh_store_dir("embedder_copy");
  auto copy = Store::open(copy_dir, {true, small_fingerprint()});
  EXPECT_EQ(import_logs(*copy, archive, "archive"), 2u);
  ASSERT_TRUE(copy->embedder());
  EXPECT_EQ(*copy->embedder(), minilm);
}

TEST(LogStoreEmbedder, AnImportOfAnotherEmbeddersVectorsLandsNothing) {
  const auto src_dir = fresh_store_dir("embedder_src"), dst_dir = fresh_store_dir("embedder_dst");
  auto src = Store::open(src_dir, {true, small_fingerprint()});
  const auto a = synthetic_log(2, 9, "a");
  src->put_log(a.record, a.input(), std::vector<float>{1, 0, 0}, embedding_model("MiniLM", "1111"));
  std::stringstream archive;
  (void)export_logs(*src, archive);
  auto dst = Store::open(dst_dir, {true, small_fingerprint()});
  dst->put_log(a.record, a.input(), std::vector<float>{0, 1, 0});  // the model's own vectors
  const auto [code, message] = error_of([&] { (void)import_logs(*dst, archive, "archive"); });
  EXPECT_EQ(code, Errc::store_model_mismatch) << message;
  EXPECT_NE(message.find("MiniLM"), std::string::npos) << message;
  EXPECT_EQ(dst->read().ids().size(), 1u);
}

TEST(LogStoreEmbedder, AStoreWithVectorsButNoRecordHasTheModelsOwn) {
  const auto dir = fresh_store_dir("embedder_old");
  {
    auto store = Store::open(dir, {true, small_fingerprint()});
    const auto a = synthetic_log(2, 9, "a");
    store->put_log(a.record, a.input(), std::vector<float>{1, 0, 0});
  }
  ASSERT_TRUE(test::remove_raw(dir, "meta", "embedder")) << "the first vector recorded its embedder";
  auto store = Store::open(dir, {false, small_fingerprint()});  // as a store made before the record
  ASSERT_TRUE(store->embedder());
  EXPECT_EQ(store->embedder()->kind, EmbedderFingerprint::kGenerator);
  const std::vector<float> q = {1, 0, 0};
  EXPECT_EQ(store->search_dense(q, 1).size(), 1u) << "it keeps working as it did";
  const auto [code, message] =
      error_of([&] { (void)store->search_dense(q, 1, {}, {}, embedding_model("MiniLM", "1111")); });
  EXPECT_EQ(code, Errc::store_model_mismatch) << message;
  EXPECT_NE(message.find("the store's own model"), std::string::npos) << message;
}

TEST(LogStore, ExportImportRoundTrip) {
  const auto src_dir = fresh_store_dir("export_src"), dst_dir = fresh_store_dir("export_dst");
  auto src = Store::open(src_dir, {true, small_fingerprint()});
  const auto a = synthetic_log(5, 12, "first task"), b = synthetic_log(3, 13, "second task");
  const std::vector<float> va = {0.5f, 0.25f};
  src->put_log(a.record, a.input(), va);
  src->put_log(b.record, b.input());
  std::stringstream archive;
  EXPECT_EQ(export_logs(*src, archive), 2u);
  auto dst = Store::open(dst_dir, {true, small_fingerprint()});
  EXPECT_EQ(import_logs(*dst, archive, "archive"), 2u);
  auto r = dst->read();
  const auto ids = r.ids();
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(r.log(ids[0])->task, "first task");
  EXPECT_EQ(r.embedding(ids[0]), va);
  std::vector<std::uint16_t> k;
  for (std::uint32_t p = 0; p < 2; ++p) {
    const auto page = r.page(ids[0], 1, p);
    k.insert(k.end(), page.k.begin(), page.k.end());
  }
  EXPECT_EQ(k, a.k[1]);
  // Into a store of another model: refused.
  Fingerprint other = small_fingerprint();
  other.head_dim = 8;
  auto wrong = Store::open(fresh_store_dir("export_wrong"), {true, other});
  std::stringstream again;
  (void)export_logs(*src, again);
  EXPECT_THROW((void)import_logs(*wrong, again, "archive"), Error);
}

/// Expects the log `id` of a read to be `log` exactly: record and every page of every layer.
void expect_log_is(const Store::Reader& r, LogId id, const SyntheticLog& log) {
  const auto rec = r.log(id);
  ASSERT_TRUE(rec) << "log " << id;
  EXPECT_EQ(rec->task, log.record.task) << "log " << id;
  EXPECT_EQ(rec->token_ids, log.record.token_ids) << "log " << id;
  for (std::uint32_t l = 0; l < log.k.size(); ++l) {
    std::vector<std::uint16_t> k, v;
    for (std::uint32_t p = 0; p < r.pages_of(std::uint32_t(rec->token_ids.size())); ++p) {
      const PageView page = r.page(id, l, p);
      k.insert(k.end(), page.k.begin(), page.k.end());
      v.insert(v.end(), page.v.begin(), page.v.end());
    }
    EXPECT_EQ(k, log.k[l]) << "log " << id << " layer " << l;
    EXPECT_EQ(v, log.v[l]) << "log " << id << " layer " << l;
  }
}

SyntheticLog later_log(std::uint32_t i) {
  return synthetic_log(4 + i, 100 + i, "later " + std::to_string(i));
}

// A reader holds a read transaction while a writer in another process commits; pipes fix the order:
// the reader opens its snapshot, then lets the writer go (it removes the first log and adds five, each
// its own commit), then waits until the writer has exited. The snapshot must still show exactly the
// logs of its moment, the removed one with intact pages (LMDB may not reuse pages a reader holds); a
// read begun afterwards shows the writer's work.
TEST(LogStore, AReadersSnapshotHoldsWhileAWriterProcessCommitsAndALaterReadSeesItsLogs) {
  const auto dir = fresh_store_dir("snapshot");
  int go[2], committed[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(committed), 0);
  // The writer forks before this process opens the store (LMDB environments do not survive fork).
  const pid_t writer = fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {
    close(go[1]);
    close(committed[0]);
    char c = 0;
    if (read(go[0], &c, 1) != 1) _exit(3);
    try {
      auto store = Store::open(dir, {false, small_fingerprint()});
      if (!store->remove(1)) _exit(4);
      for (std::uint32_t i = 0; i < 5; ++i) {
        const auto log = later_log(i);
        const LogId id = store->put_log(log.record, log.input());
        if (write(committed[1], &id, sizeof id) != sizeof id) _exit(3);
      }
      _exit(0);
    } catch (...) {
      _exit(2);
    }
  }
  close(go[0]);
  close(committed[1]);
  auto store = Store::open(dir, {true, small_fingerprint()});
  std::vector<SyntheticLog> first;
  std::vector<LogId> first_ids;
  for (std::uint32_t i = 0; i < 3; ++i) {
    first.push_back(synthetic_log(5 + i, i, "first " + std::to_string(i)));
    first_ids.push_back(store->put_log(first.back().record, first.back().input()));
  }
  ASSERT_EQ(first_ids.front(), 1u);
  std::vector<LogId> later_ids;
  {
    const auto snapshot = store->read();
    ASSERT_EQ(snapshot.ids(), first_ids);
    ASSERT_EQ(write(go[1], "g", 1), 1);
    close(go[1]);
    LogId id = 0;
    while (read(committed[0], &id, sizeof id) == sizeof id) later_ids.push_back(id);  // until it exits
    close(committed[0]);
    int status = 0;
    ASSERT_EQ(waitpid(writer, &status, 0), writer);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer status " << status;
    ASSERT_EQ(later_ids.size(), 5u);
    // All five commits are done, and the snapshot is as it was.
    EXPECT_EQ(snapshot.ids(), first_ids);
    for (std::size_t i = 0; i < first.size(); ++i) expect_log_is(snapshot, first_ids[i], first[i]);
    for (LogId later : later_ids) EXPECT_FALSE(snapshot.log(later)) << "log " << later << " in the snapshot";
  }
  const auto after = store->read();
  std::vector<LogId> expect_ids(first_ids.begin() + 1, first_ids.end());
  expect_ids.insert(expect_ids.end(), later_ids.begin(), later_ids.end());
  EXPECT_EQ(after.ids(), expect_ids);
  EXPECT_FALSE(after.log(first_ids.front())) << "the removed log";
  for (std::uint32_t i = 0; i < later_ids.size(); ++i) expect_log_is(after, later_ids[i], later_log(i));
  EXPECT_TRUE(store->verify().ok());
}

// A child writes logs and reports each id after its commit returns; it is killed at a random moment,
// 50 times. Every reported log must be intact afterwards.
TEST(LogStore, CommittedLogsSurviveAKilledWriter) {
  const auto dir = fresh_store_dir("kill");
  { auto store = Store::open(dir, {true, small_fingerprint()}); }
  std::vector<LogId> committed;
  std::mt19937 rng(11);
  for (int round = 0; round < 50; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      try {
        auto store = Store::open(dir, {false, small_fingerprint()});
        for (std::uint32_t i = 0;; ++i) {
          const auto log = synthetic_log(1 + i % 40, std::uint32_t(round * 1000) + i, "kill test");
          const LogId id = store->put_log(log.record, log.input());
          if (write(fds[1], &id, sizeof id) != sizeof id) _exit(3);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer: %s\n", e.what());
        _exit(2);
      } catch (...) {
        _exit(2);
      }
    }
    close(fds[1]);
    // Each round kills a writer that has committed at least once (on a loaded machine a fixed delay may
    // end before the child's first commit), at a random moment after that.
    LogId first = 0;
    if (read(fds[0], &first, sizeof first) == sizeof first) committed.push_back(first);
    usleep(1000 + rng() % 20000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    LogId id = 0;
    while (read(fds[0], &id, sizeof id) == sizeof id) committed.push_back(id);
    close(fds[0]);
  }
  ASSERT_GT(committed.size(), 50u);
  auto store = Store::open(dir, {false, small_fingerprint()});
  auto r = store->read();
  for (LogId id : committed) {
    const auto rec = r.log(id);
    ASSERT_TRUE(rec) << "committed log " << id << " lost";
    for (std::uint32_t l = 0; l < 2; ++l)
      for (std::uint32_t p = 0; p < r.pages_of(std::uint32_t(rec->token_ids.size())); ++p)
        (void)r.page(id, l, p);
  }
  const auto report = store->verify();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  std::printf("kill test: %zu committed logs over 50 kills, all intact\n", committed.size());
}

}  // namespace
}  // namespace lagvk::logstore
