#include "logstore/store.hpp"

#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "engine/core/error.hpp"
#include "engine/core/half.hpp"
#include "engine/model/quant.hpp"
#include "logstore/bm25.hpp"

namespace lagvk::logstore {

namespace {

constexpr std::uint32_t kSchemaVersion = 1;
constexpr std::uint32_t kPageMagic = 0x4750474c;  // "LGPG"
constexpr std::size_t kPageHeader = 16;

std::array<std::byte, 8> id_key(LogId id) {
  std::array<std::byte, 8> k{};
  for (int i = 0; i < 8; ++i) k[std::size_t(i)] = std::byte((id >> (56 - 8 * i)) & 0xff);
  return k;
}

std::array<std::byte, 16> page_key(LogId id, std::uint32_t layer, std::uint32_t page) {
  std::array<std::byte, 16> k{};
  const auto a = id_key(id);
  std::copy(a.begin(), a.end(), k.begin());
  for (int i = 0; i < 4; ++i) k[std::size_t(8 + i)] = std::byte((layer >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) k[std::size_t(12 + i)] = std::byte((page >> (24 - 8 * i)) & 0xff);
  return k;
}

LogId key_id(const MDB_val& v) {
  LogId id = 0;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  for (int i = 0; i < 8; ++i) id = (id << 8) | p[i];
  return id;
}

/// A stored record, decoded; damage is an error naming the log.
DecodedRecord decode_stored_record(LogId id, const MDB_val& v, const std::string& dir) {
  try {
    return decode_record_value(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
  } catch (const Error& e) {
    fail("log {} in '{}' has a damaged record: {}; remove it with 'lagvk log rm {}'", id, dir, e.what(), id);
  }
}

std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

}  // namespace

void decode_page(const PageView& page, std::vector<std::uint16_t>& k, std::vector<std::uint16_t>& v) {
  if (page.codec == PageCodec::f16) {
    k.assign(page.k.begin(), page.k.end());
    v.assign(page.v.begin(), page.v.end());
    return;
  }
  const std::size_t n = page.k_q8.size() / 34 * 32;
  const auto as_u8 = [](std::span<const std::byte> b) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(b.data()), b.size());
  };
  k = to_half(dequantize(GgmlType::q8_0, as_u8(page.k_q8), n));
  v = to_half(dequantize(GgmlType::q8_0, as_u8(page.v_q8), n));
}

std::unique_ptr<Store> Store::open(const std::string& dir, const StoreOptions& options) {
  return std::unique_ptr<Store>(new Store(dir, options));
}

Store::Store(std::string dir, const StoreOptions& options) : dir_(std::move(dir)), options_(options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(fs::path(dir_) / "data.mdb", ec);
  if (!exists) {
    if (!options.create)
      fail("no log store at '{}' (create one with 'lagvk log add', or check the path)", dir_);
    if (!options.fingerprint) fail("internal: creating a store needs a model fingerprint");
    fs::create_directories(dir_, ec);
    if (ec) fail("cannot create the store directory '{}': {}", dir_, ec.message());
  }
  check_mdb(mdb_env_create(&env_), "mdb_env_create");
  try {
    check_mdb(mdb_env_set_maxdbs(env_, 4), "mdb_env_set_maxdbs");
    map_size_ = std::max<std::uint64_t>(options.initial_map_size, std::uint64_t(1) << 20);
    // An existing store keeps at least its current size (LMDB adopts the larger of the two).
    std::error_code size_ec;
    const auto file_size = exists ? fs::file_size(fs::path(dir_) / "data.mdb", size_ec) : 0;
    if (!size_ec) map_size_ = std::max<std::uint64_t>(map_size_, file_size);
    check_mdb(mdb_env_set_mapsize(env_, map_size_), "mdb_env_set_mapsize");
    const int rc = mdb_env_open(env_, dir_.c_str(), MDB_NOTLS | (options.durable ? 0 : MDB_NOSYNC), 0644);
    if (rc == EACCES) fail("cannot open the log store '{}': permission denied", dir_);
    check_mdb(rc, ("opening the log store " + dir_).c_str());
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    map_size_ = info.me_mapsize;

    Txn txn(env_, true);
    check_mdb(mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &meta_), "mdb_dbi_open meta");
    check_mdb(mdb_dbi_open(txn.get(), "logs", MDB_CREATE, &logs_), "mdb_dbi_open logs");
    check_mdb(mdb_dbi_open(txn.get(), "pages", MDB_CREATE, &pages_), "mdb_dbi_open pages");
    check_mdb(mdb_dbi_open(txn.get(), "vectors", MDB_CREATE, &vectors_), "mdb_dbi_open vectors");
    MDB_val k = as_val(std::string_view("fingerprint")), v{};
    const int got = mdb_get(txn.get(), meta_, &k, &v);
    if (got == MDB_NOTFOUND) {
      if (!options.fingerprint)
        fail("the log store '{}' has no fingerprint; it is damaged or not a lagvk store", dir_);
      fingerprint_ = *options.fingerprint;
      const std::string fp = nlohmann::json(fingerprint_).dump();
      MDB_val fv = as_val(std::string_view(fp));
      check_mdb(mdb_put(txn.get(), meta_, &k, &fv, 0), "writing the fingerprint");
      const std::string schema = std::to_string(kSchemaVersion);
      MDB_val sk = as_val(std::string_view("schema")), sv = as_val(std::string_view(schema));
      check_mdb(mdb_put(txn.get(), meta_, &sk, &sv, 0), "writing the schema version");
      codec_ = options.codec;
      if (codec_ == PageCodec::q8_0 &&
          (std::uint64_t(fingerprint_.kv_heads) * fingerprint_.head_dim) % 32 != 0)
        fail("the q8_0 page codec needs kv_heads x head_dim to be a multiple of 32 (this model: {} x {})",
             fingerprint_.kv_heads, fingerprint_.head_dim);
      const std::string codec = codec_ == PageCodec::q8_0 ? "q8_0" : "f16";
      MDB_val ck = as_val(std::string_view("codec")), cv = as_val(std::string_view(codec));
      check_mdb(mdb_put(txn.get(), meta_, &ck, &cv, 0), "writing the page codec");
    } else {
      check_mdb(got, "reading the fingerprint");
      const auto j = nlohmann::json::parse(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size),
                                           nullptr, false);
      if (j.is_discarded()) fail("the log store '{}' has a damaged fingerprint record", dir_);
      try {
        fingerprint_ = j.get<Fingerprint>();
        fingerprint_.validate();  // a page_tokens of 0 would divide by zero in every page count
      } catch (const Error& e) {
        fail("the log store '{}' has a damaged fingerprint record: {}", dir_, e.what());
      }
      MDB_val sk = as_val(std::string_view("schema")), sv{};
      if (mdb_get(txn.get(), meta_, &sk, &sv) == MDB_SUCCESS) {
        const std::string schema(static_cast<const char*>(sv.mv_data), sv.mv_size);
        if (schema != std::to_string(kSchemaVersion))
          fail("the log store '{}' has schema version {}; this lagvk reads version {}", dir_, schema,
               kSchemaVersion);
      }
      MDB_val ck = as_val(std::string_view("codec")), cv{};
      if (mdb_get(txn.get(), meta_, &ck, &cv) == MDB_SUCCESS) {
        const std::string codec(static_cast<const char*>(cv.mv_data), cv.mv_size);
        if (codec == "q8_0")
          codec_ = PageCodec::q8_0;
        else if (codec != "f16")
          fail("the log store '{}' uses page codec '{}', which this lagvk does not know", dir_, codec);
      }
      if (options.fingerprint && !(*options.fingerprint == fingerprint_))
        fail(
            "the log store '{}' was made with another model and cannot be used with this one:\n  store: {}\n "
            " model: "
            "{}\nuse a store made with this model (or a new --store directory)",
            dir_, fingerprint_.describe(), options.fingerprint->describe());
    }
    txn.commit();
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

Store::~Store() {
  mdb_env_close(env_);
}

void Store::grow() {
  if (map_size_ >= options_.max_map_size)
    fail(
        "store full: the log store '{}' reached its maximum size of {} MiB; remove logs or raise the maximum",
        dir_, options_.max_map_size >> 20);
  map_size_ = std::min(map_size_ * 2, options_.max_map_size);
  check_mdb(mdb_env_set_mapsize(env_, map_size_), "growing the store map");
}

std::uint64_t Store::generation(MDB_txn* txn) const {
  MDB_val k = as_val(std::string_view("generation")), v{};
  if (mdb_get(txn, meta_, &k, &v) != MDB_SUCCESS || v.mv_size != 8) return 0;
  std::uint64_t g = 0;
  std::memcpy(&g, v.mv_data, 8);
  return g;
}

void Store::bump_generation(MDB_txn* txn) {
  const std::uint64_t g = generation(txn) + 1;
  MDB_val k = as_val(std::string_view("generation")), v{8, const_cast<std::uint64_t*>(&g)};
  check_mdb(mdb_put(txn, meta_, &k, &v, 0), "updating the store generation");
}

const RetrievalIndex& Store::index() {
  Reader r(*this);
  const std::uint64_t g = generation(r.txn_.get());
  if (index_ && g == index_generation_) return *index_;
  std::vector<IndexedLog> logs;
  std::vector<UnreadableLog> unreadable;
  for (LogId id : r.ids()) {
    try {
      const auto rec = r.log(id);
      logs.push_back({id, rec->retrieval_text, rec->tags, r.embedding(id)});
    } catch (const Error& e) {
      unreadable.push_back({id, e.what()});  // one damaged log must not stop retrieval over the others
    }
  }
  index_ = std::make_unique<RetrievalIndex>(std::move(logs));
  unreadable_ = std::move(unreadable);
  index_generation_ = g;
  return *index_;
}

LogId Store::put_log(const LogRecord& record, const LogKvInput& kv, std::span<const float> embedding) {
  const auto& f = fingerprint_;
  if (kv.k.size() != f.layers || kv.v.size() != f.layers)
    fail("internal: log KV has {} layers, the store {}", kv.k.size(), f.layers);
  const std::uint64_t row = std::uint64_t(f.kv_heads) * f.head_dim;
  for (std::uint32_t l = 0; l < f.layers; ++l)
    if (kv.k[l].size() != kv.tokens * row || kv.v[l].size() != kv.tokens * row)
      fail("internal: layer {} holds {} / {} values, expected {}", l, kv.k[l].size(), kv.v[l].size(),
           kv.tokens * row);
  if (kv.tokens == 0) fail("a log must keep at least one token");
  const std::string json = encode_record_value(record);
  const std::uint32_t P = f.page_tokens;
  const std::uint32_t n_pages = (kv.tokens + P - 1) / P;
  std::vector<std::byte> value;
  for (;;) {
    Txn txn(env_, true);
    // The next id follows the largest one in use (ids are never reused while the log exists).
    LogId id = 1;
    {
      MDB_cursor* cur = nullptr;
      check_mdb(mdb_cursor_open(txn.get(), logs_, &cur), "mdb_cursor_open");
      MDB_val k{}, v{};
      if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == MDB_SUCCESS) id = key_id(k) + 1;
      mdb_cursor_close(cur);
    }
    int rc = MDB_SUCCESS;
    const auto ik = id_key(id);
    MDB_val k = as_val(std::span<const std::byte>(ik)), v = as_val(std::string_view(json));
    rc = mdb_put(txn.get(), logs_, &k, &v, MDB_NOOVERWRITE);
    for (std::uint32_t l = 0; l < f.layers && rc == MDB_SUCCESS; ++l) {
      for (std::uint32_t p = 0; p < n_pages && rc == MDB_SUCCESS; ++p) {
        const std::uint32_t tokens = std::min(P, kv.tokens - p * P);
        const auto ks = kv.k[l].subspan(std::size_t(p) * P * row, tokens * row);
        const auto vs = kv.v[l].subspan(std::size_t(p) * P * row, tokens * row);
        if (codec_ == PageCodec::f16) {
          value.assign(kPageHeader + ks.size_bytes() + vs.size_bytes(), std::byte{0});
          std::memcpy(value.data() + kPageHeader, ks.data(), ks.size_bytes());
          std::memcpy(value.data() + kPageHeader + ks.size_bytes(), vs.data(), vs.size_bytes());
        } else {
          const auto kq = quantize(GgmlType::q8_0, from_half(ks)),
                     vq = quantize(GgmlType::q8_0, from_half(vs));
          value.assign(kPageHeader + kq.size() + vq.size(), std::byte{0});
          std::memcpy(value.data() + kPageHeader, kq.data(), kq.size());
          std::memcpy(value.data() + kPageHeader + kq.size(), vq.data(), vq.size());
        }
        const std::uint64_t sum = XXH64(value.data() + kPageHeader, value.size() - kPageHeader, 0);
        std::memcpy(value.data(), &kPageMagic, 4);
        std::memcpy(value.data() + 4, &tokens, 4);
        std::memcpy(value.data() + 8, &sum, 8);
        const auto pk = page_key(id, l, p);
        MDB_val pkv = as_val(std::span<const std::byte>(pk)), pvv = as_val(std::span<const std::byte>(value));
        rc = mdb_put(txn.get(), pages_, &pkv, &pvv, 0);
      }
    }
    if (rc == MDB_SUCCESS && !embedding.empty()) {
      MDB_val ek = as_val(std::span<const std::byte>(ik)), ev = as_val(std::as_bytes(embedding));
      rc = mdb_put(txn.get(), vectors_, &ek, &ev, 0);
    }
    if (rc == MDB_SUCCESS) {
      const std::uint64_t g = generation(txn.get()) + 1;
      MDB_val gk = as_val(std::string_view("generation")), gv{8, const_cast<std::uint64_t*>(&g)};
      rc = mdb_put(txn.get(), meta_, &gk, &gv, 0);
    }
    if (rc == MDB_MAP_FULL) {
      txn.abort();
      grow();
      continue;
    }
    check_mdb(rc, "writing a log");
    // mdb_txn_commit frees the transaction whatever it returns.
    rc = mdb_txn_commit(txn.release());
    if (rc == MDB_MAP_FULL) {
      grow();
      continue;
    }
    check_mdb(rc, "committing a log");
    return id;
  }
}

bool Store::remove(LogId id) {
  Txn txn(env_, true);
  const auto ik = id_key(id);
  MDB_val k = as_val(std::span<const std::byte>(ik));
  const int rc = mdb_del(txn.get(), logs_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check_mdb(rc, "deleting a log");
  MDB_cursor* cur = nullptr;
  check_mdb(mdb_cursor_open(txn.get(), pages_, &cur), "mdb_cursor_open");
  const auto start = page_key(id, 0, 0);
  MDB_val pk = as_val(std::span<const std::byte>(start)), pv{};
  int r = mdb_cursor_get(cur, &pk, &pv, MDB_SET_RANGE);
  while (r == MDB_SUCCESS && pk.mv_size == 16 && key_id(pk) == id) {
    check_mdb(mdb_cursor_del(cur, 0), "deleting a page");
    r = mdb_cursor_get(cur, &pk, &pv, MDB_GET_CURRENT);
    if (r != MDB_SUCCESS) r = mdb_cursor_get(cur, &pk, &pv, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  const int vr = mdb_del(txn.get(), vectors_, &k, nullptr);
  if (vr != MDB_NOTFOUND) check_mdb(vr, "deleting a vector");
  bump_generation(txn.get());
  txn.commit();
  index_.reset();
  return true;
}

Store::Reader::Reader(Store& store) : store_(store), txn_(store.env_, false) {}

std::vector<LogId> Store::Reader::ids() const {
  std::vector<LogId> out;
  MDB_cursor* cur = nullptr;
  check_mdb(mdb_cursor_open(txn_.get(), store_.logs_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    out.push_back(key_id(k));
  mdb_cursor_close(cur);
  return out;
}

std::optional<LogRecord> Store::Reader::log(LogId id) const {
  const auto ik = id_key(id);
  MDB_val k = as_val(std::span<const std::byte>(ik)), v{};
  const int rc = mdb_get(txn_.get(), store_.logs_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_mdb(rc, "reading a log");
  return decode_stored_record(id, v, store_.dir_).record;
}

std::vector<float> Store::Reader::embedding(LogId id) const {
  const auto ik = id_key(id);
  MDB_val k = as_val(std::span<const std::byte>(ik)), v{};
  const int rc = mdb_get(txn_.get(), store_.vectors_, &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check_mdb(rc, "reading a vector");
  if (v.mv_size % 4 != 0) fail("log {} has a damaged retrieval vector", id);
  // LMDB aligns small values to 2 bytes only: copy rather than view.
  std::vector<float> out(v.mv_size / 4);
  std::memcpy(out.data(), v.mv_data, v.mv_size);
  return out;
}

std::uint32_t Store::Reader::pages_of(std::uint32_t tokens) const {
  return (tokens + store_.fingerprint_.page_tokens - 1) / store_.fingerprint_.page_tokens;
}

PageView Store::Reader::page(LogId id, std::uint32_t layer, std::uint32_t page) const {
  const auto pk = page_key(id, layer, page);
  MDB_val k = as_val(std::span<const std::byte>(pk)), v{};
  const int rc = mdb_get(txn_.get(), store_.pages_, &k, &v);
  if (rc == MDB_NOTFOUND)
    fail("log {} has no page {} of layer {}: the store is damaged (run 'lagvk log verify')", id, page, layer);
  check_mdb(rc, "reading a page");
  const auto* bytes = static_cast<const std::byte*>(v.mv_data);
  std::uint32_t magic = 0, tokens = 0;
  std::uint64_t sum = 0;
  if (v.mv_size >= kPageHeader) {
    std::memcpy(&magic, bytes, 4);
    std::memcpy(&tokens, bytes + 4, 4);
    std::memcpy(&sum, bytes + 8, 8);
  }
  const std::uint64_t row = std::uint64_t(store_.fingerprint_.kv_heads) * store_.fingerprint_.head_dim;
  const bool q8 = store_.codec_ == PageCodec::q8_0;
  const std::uint64_t half_bytes =
      q8 ? std::uint64_t(tokens) * row / 32 * 34 : 2 * std::uint64_t(tokens) * row;
  if (magic != kPageMagic || v.mv_size != kPageHeader + 2 * half_bytes ||
      tokens > store_.fingerprint_.page_tokens)
    fail("page {} of layer {} of log {} is corrupted (bad header); remove the log with 'lagvk log rm {}'",
         page, layer, id, id);
  if (XXH64(bytes + kPageHeader, v.mv_size - kPageHeader, 0) != sum)
    fail(
        "page {} of layer {} of log {} is corrupted (checksum mismatch); remove the log with 'lagvk log rm "
        "{}'",
        page, layer, id, id);
  if (q8)
    return PageView{tokens,
                    PageCodec::q8_0,
                    {},
                    {},
                    {bytes + kPageHeader, half_bytes},
                    {bytes + kPageHeader + half_bytes, half_bytes}};
  const auto* halves = reinterpret_cast<const std::uint16_t*>(bytes + kPageHeader);
  return PageView{tokens, PageCodec::f16, {halves, tokens * row}, {halves + tokens * row, tokens * row}, {},
                  {}};
}

std::vector<Store::UnreadableLog> Store::unreadable_logs() {
  (void)index();
  return unreadable_;
}

StoreStats Store::stats() {
  StoreStats s;
  Reader r(*this);
  for (LogId id : r.ids()) {
    ++s.logs;
    try {
      if (auto log = r.log(id)) s.stored_tokens += log->token_ids.size();
    } catch (const Error&) {
      // A damaged record: counted as a log; verify reports it.
    }
  }
  MDB_stat st{};
  mdb_stat(r.txn_.get(), pages_, &st);
  s.pages = st.ms_entries;
  s.page_bytes = std::uint64_t(st.ms_psize) * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  s.map_size = info.me_mapsize;
  s.map_used = std::uint64_t(info.me_last_pgno + 1) * st.ms_psize;
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(std::filesystem::path(dir_) / "data.mdb", ec);
  return s;
}

VerifyReport Store::verify() {
  VerifyReport report;
  Reader r(*this);
  // Pages per layer of each log; a log whose record is damaged owns all its pages (they are not orphans).
  constexpr std::uint32_t kAnyPages = ~std::uint32_t(0);
  std::map<LogId, std::uint32_t> expected;
  std::uint64_t legacy = 0;
  for (LogId id : r.ids()) {
    ++report.logs;
    expected[id] = kAnyPages;
    try {
      const auto ik = id_key(id);
      MDB_val k = as_val(std::span<const std::byte>(ik)), v{};
      check_mdb(mdb_get(r.txn_.get(), logs_, &k, &v), "reading a log");
      const DecodedRecord decoded = decode_stored_record(id, v, dir_);
      const LogRecord& log = decoded.record;
      if (decoded.legacy) ++legacy;
      const std::uint32_t n = r.pages_of(std::uint32_t(log.token_ids.size()));
      expected[id] = n;
      std::uint32_t tokens = 0;
      for (std::uint32_t l = 0; l < fingerprint_.layers; ++l) {
        tokens = 0;
        for (std::uint32_t p = 0; p < n; ++p) tokens += r.page(id, l, p).tokens;
        if (tokens != log.token_ids.size())
          report.problems.push_back(fmt::format("log {}: layer {} pages hold {} tokens, the record {}", id, l,
                                                tokens, log.token_ids.size()));
      }
    } catch (const Error& e) {
      report.problems.push_back(e.what());
    }
  }
  if (legacy)
    report.notes.push_back(fmt::format(
        "{} of {} log records were written by an older lagvk without a record checksum: their pages are "
        "verified, their text cannot be",
        legacy, report.logs));
  MDB_cursor* cur = nullptr;
  check_mdb(mdb_cursor_open(r.txn_.get(), pages_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    ++report.pages;
    if (k.mv_size != 16) {
      report.problems.push_back("a page has a malformed key");
      continue;
    }
    const LogId id = key_id(k);
    const auto* p = static_cast<const unsigned char*>(k.mv_data);
    const auto it = expected.find(id);
    if (it == expected.end())
      report.problems.push_back(fmt::format("page of log {} without a log record (orphan)", id));
    else if (be32(p + 8) >= fingerprint_.layers || be32(p + 12) >= it->second)
      report.problems.push_back(
          fmt::format("log {}: unexpected page {} of layer {}", id, be32(p + 12), be32(p + 8)));
  }
  mdb_cursor_close(cur);
  return report;
}

std::vector<ScoredLog> Store::search(const std::string& query, std::uint32_t k,
                                     const std::set<LogId>& exclude, const std::vector<std::string>& tags) {
  return index().lexical(query, k, exclude, tags);
}

std::vector<ScoredLog> Store::search_dense(std::span<const float> query, std::uint32_t k,
                                           const std::set<LogId>& exclude,
                                           const std::vector<std::string>& tags) {
  return index().dense(query, k, exclude, tags);
}

}  // namespace lagvk::logstore
