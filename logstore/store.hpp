#pragma once
// The log store: one LMDB environment per directory holding
//   meta  — "schema" (version) and "fingerprint" (JSON): what model the pages belong to; "codec";
//           "next_id" (8 bytes: ids are never reused, even after a log is removed); "generation" (8
//           bytes: counts every change); "replacements" (8 bytes: counts replace_log's changes);
//   logs  — id (8 bytes, big-endian) -> record: 16-byte header {magic "LGRC", length, xxh64} then JSON
//           (task, trace, selection, token ids and positions, retrieval text, tags, creation time; see
//           record.hpp, which also reads the bare JSON records of older stores);
//   pages — id | layer (4 bytes) | page (4 bytes) -> 16-byte header {magic "LGPG", tokens, xxh64 of
//           the payload} then K then V (fp16, tokens x kv_heads x head_dim each; K without RoPE).
// Every log is written in one transaction (all or nothing: a killed writer leaves no torn log); many
// readers and one writer may use a store at once, across processes. Reads are zero-copy views into the
// memory map, valid for the life of the Reader that returned them.
//
// LMDB's rules, followed here: the map may only be resized (grown by this process, or adopted after
// another process grew it: MDB_MAP_RESIZED) while this process has no transaction open on the
// environment, so the Store counts its open Readers and resizes only when there are none (keep Readers
// short: copy what must outlive them). Reader slots of killed processes are reclaimed on opening
// (mdb_reader_check) and when the slots run out. Before LMDB maps an existing data file its two meta
// pages are checked, so a truncated or damaged file is an error, not a fault inside the map. Links named
// data.mdb or lock.mdb are refused (LMDB would write through them), and only a missing or empty directory
// becomes a new store. Each write pre-allocates its room (fallocate) so a full disk is an error naming
// the store before LMDB writes; a failed write loses nothing committed.
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "logstore/fingerprint.hpp"
#include "logstore/lmdb.hpp"
#include "logstore/log_id.hpp"
#include "logstore/record.hpp"
#include "logstore/retrieval_index.hpp"

namespace lagvk::logstore {

/// A log's KV to store: per layer, tokens x kv_heads x head_dim fp16 values (keys without RoPE).
struct LogKvInput {
  std::uint32_t tokens = 0;
  std::vector<std::span<const std::uint16_t>> k, v;  ///< [layer]
};

/// How pages are stored: fp16 as the engine holds them, or ggml Q8_0 blocks (32 values share an fp16
/// scale: 34 bytes instead of 64, decoded back to fp16 when spliced).
enum class PageCodec { f16, q8_0 };

/// The codec's name as a store records it: "f16" or "q8_0".
[[nodiscard]] inline const char* page_codec_name(PageCodec codec) {
  return codec == PageCodec::q8_0 ? "q8_0" : "f16";
}

/// What retrieval indexes of each log (BM25 and dense): its task, or its task and last response (the
/// paper's "question + last response"). A store's choice, made when it is created: every log of a store
/// is indexed alike.
enum class IndexText { task, task_and_response };

/// The choice's name as a store records it and the CLI takes it: "task" or "task+response".
[[nodiscard]] inline const char* index_text_name(IndexText t) {
  return t == IndexText::task_and_response ? "task+response" : "task";
}
/// The choice named `name`; nullopt for an unknown name.
[[nodiscard]] inline std::optional<IndexText> parse_index_text(std::string_view name) {
  if (name == "task") return IndexText::task;
  if (name == "task+response") return IndexText::task_and_response;
  return std::nullopt;
}

struct PageView {
  std::uint32_t tokens = 0;
  PageCodec codec = PageCodec::f16;
  std::span<const std::uint16_t> k, v;    ///< fp16 pages: point into the memory map
  std::span<const std::byte> k_q8, v_q8;  ///< q8_0 pages: the blocks, in the memory map
};

/// The page's K and V as fp16 whatever the codec (a copy).
void decode_page(const PageView& page, std::vector<std::uint16_t>& k, std::vector<std::uint16_t>& v);

struct StoreOptions {
  /// Create the store if missing. Only a missing or empty directory (or one holding an LMDB
  /// environment with nothing in it) becomes a new store; anything else is refused.
  bool create = false;
  std::optional<Fingerprint> fingerprint;  ///< required to create; checked when opening
  std::uint64_t initial_map_size = 64ull << 20;
  std::uint64_t max_map_size = 64ull << 30;  ///< the map doubles on demand up to this; then "store full"
  PageCodec codec = PageCodec::f16;          ///< for new stores; an existing store keeps its own
  IndexText index_text = IndexText::task;    ///< for new stores; an existing store keeps its own
  /// fsync on every commit. Off (MDB_NOSYNC) is for bulk loads that can be redone: a system crash may then
  /// lose the last commits (never tear one; a killed process loses nothing either way).
  bool durable = true;
  /// Open for reading only (MDB_RDONLY): works on a read-only file system or without write permission
  /// (then without LMDB's reader lock, see Store::locked()). Writing through such a store is an error.
  bool read_only = false;
};

struct StoreStats {
  std::uint64_t logs = 0, pages = 0, stored_tokens = 0, page_bytes = 0, file_bytes = 0, map_size = 0,
                map_used = 0;
};

struct VerifyReport {
  std::uint64_t logs = 0, pages = 0;
  std::vector<std::string> problems;
  std::vector<std::string> notes;  ///< not problems: e.g. legacy records without a checksum
  [[nodiscard]] bool ok() const { return problems.empty(); }
};

class Store {
 public:
  [[nodiscard]] static std::unique_ptr<Store> open(const std::string& dir, const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] const Fingerprint& fingerprint() const { return fingerprint_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] PageCodec codec() const { return codec_; }
  /// What retrieval indexes of each log (a store made before the choice existed: the task).
  [[nodiscard]] IndexText index_text() const { return index_text_; }
  /// True when this open created the store (it did not hold a fingerprint before).
  [[nodiscard]] bool created() const { return created_; }
  /// False when the store was opened read-only without LMDB's lock file (it could not be opened for
  /// writing): reads then do not hold a reader slot, so a writer elsewhere may reuse pages being read.
  [[nodiscard]] bool locked() const { return locked_; }
  /// Readers of this Store now open (the map is resized only when there are none).
  [[nodiscard]] int open_readers() const { return open_readers_; }

  /// Removes a store that `store` created and that holds no log (a command that failed before adding
  /// anything should not leave an empty store bound to its model behind). Closes the store either way;
  /// never throws (a store it cannot read is kept).
  static void discard_if_new_and_empty(std::unique_ptr<Store> store);

  /// Writes a log, its pages and (optionally) its dense retrieval vector, made by `embedder`, in one
  /// transaction; returns its id. The store's first vector records its embedder ("embedder" in meta); a
  /// vector of another embedder is refused (Errc::store_model_mismatch, naming both) and nothing is written.
  LogId put_log(const LogRecord& record, const LogKvInput& kv, std::span<const float> embedding = {},
                const EmbedderFingerprint& embedder = {});
  /// What replace_log did.
  enum class Replacement {
    replaced,
    not_found,  ///< no such log (removed meanwhile); nothing written
    changed,    ///< its record is no longer the `expected` one (another writer replaced it); nothing written
  };
  /// Replaces log `id`'s record and pages in one transaction (all or nothing: a killed or failed write
  /// leaves the old log as it was). The log keeps its id and its dense vector, which is of its retrieval
  /// text: a record with another retrieval text is refused (Errc::invalid_argument). Retrieval sees the
  /// new record (its tags) at once. With `expected` (the record the caller read and decided from), the
  /// log is replaced only when its record is still that one, checked inside the write transaction.
  Replacement replace_log(LogId id, const LogRecord& record, const LogKvInput& kv,
                          const LogRecord* expected = nullptr);
  /// Deletes a log and its pages; false when there is no such log.
  bool remove(LogId id);
  /// How many times any process replaced a log in place (replace_log): a log's content changed under the
  /// same id. A copy of logs' KV kept across calls (a kept prompt context) made at another count may hold
  /// a log's old content. Adding or removing logs leaves it (ids are never reused).
  [[nodiscard]] std::uint64_t replacements();

  class Reader {
   public:
    explicit Reader(Store& store);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    [[nodiscard]] std::vector<LogId> ids() const;
    /// The log's record; nullopt when there is no such log. A damaged record (checksum mismatch, wrong
    /// JSON shape) is a lagvk::Error naming the log and what is wrong.
    [[nodiscard]] std::optional<LogRecord> log(LogId id) const;
    /// What log() finds, with a damaged record as `damage` (naming the log and what is wrong) instead of
    /// an error; the store's own failures (reading the map) are still thrown.
    struct Lookup {
      std::optional<LogRecord> record;  ///< nullopt: no such log, or a damaged record
      std::string damage;               ///< "" unless the record is damaged
    };
    [[nodiscard]] Lookup lookup(LogId id) const;
    /// A page; the checksum is verified and a mismatch is an error naming the log, layer and page.
    [[nodiscard]] PageView page(LogId id, std::uint32_t layer, std::uint32_t page) const;
    [[nodiscard]] std::uint32_t pages_of(std::uint32_t tokens) const;
    /// The log's dense retrieval vector (empty when it has none).
    [[nodiscard]] std::vector<float> embedding(LogId id) const;

   private:
    friend class Store;
    Store& store_;
    Txn txn_;
  };
  [[nodiscard]] Reader read() { return Reader(*this); }

  /// A log whose record cannot be read (damaged): retrieval, stats and listings leave it out.
  struct UnreadableLog {
    LogId id = 0;
    std::string reason;  ///< names the log
  };
  /// The logs that retrieval had to leave out, as of the store's current contents.
  [[nodiscard]] std::vector<UnreadableLog> unreadable_logs();

  [[nodiscard]] StoreStats stats();
  [[nodiscard]] VerifyReport verify();

  /// BM25 over the logs' retrieval text (lowercase, split on non-alphanumerics; k1 1.2, b 0.75):
  /// the k best logs not in `exclude` (with every tag in `tags`) that share a term with the query, best
  /// first.
  [[nodiscard]] std::vector<ScoredLog> search(const std::string& query, std::uint32_t k,
                                              const std::set<LogId>& exclude = {},
                                              const std::vector<std::string>& tags = {});
  /// Cosine similarity between `query` and the logs' vectors (logs without one are skipped). Throws
  /// lagvk::Error (Errc::invalid_argument) when no log in the store has a vector: nothing could ever be
  /// found, and an empty answer would hide that.
  /// The query must be embedded by the store's embedder (check_embedder).
  [[nodiscard]] std::vector<ScoredLog> search_dense(std::span<const float> query, std::uint32_t k,
                                                    const std::set<LogId>& exclude = {},
                                                    const std::vector<std::string>& tags = {},
                                                    const EmbedderFingerprint& embedder = {});
  /// Who made the store's dense vectors: its record; for a store that holds vectors but no record (made
  /// before embedding models), the store's own model; nullopt when it has no dense retrieval yet.
  [[nodiscard]] std::optional<EmbedderFingerprint> embedder();
  /// Throws lagvk::Error (Errc::store_model_mismatch) naming both when the store's vectors were made by
  /// another embedder than `embedder` (a store without vectors accepts any).
  void check_embedder(const EmbedderFingerprint& embedder);
  /// Logs with a dense retrieval vector (those search_dense can find).
  [[nodiscard]] std::size_t dense_vector_count();

 private:
  Store(std::string dir, const StoreOptions& options);
  void open_environment(const std::string& data_file);
  void create_tables();
  void open_tables();
  /// Begins a transaction; adopts another process's larger map (MDB_MAP_RESIZED) and reclaims the
  /// reader slots of dead processes (MDB_READERS_FULL) on the way.
  [[nodiscard]] Txn begin(bool write);
  void adopt_map_size();
  void grow();
  /// Pre-allocates room for about `bytes` more at the end of data.mdb, so a full disk is found before
  /// LMDB writes (false when the file system cannot pre-allocate; nothing to check then).
  void reserve(std::uint64_t bytes);
  [[noreturn]] void fail_write(int rc, std::uint64_t bytes, const char* what) const;
  /// Checks a log's KV against the store's shape and against its record; returns about the bytes its
  /// pages take.
  [[nodiscard]] std::uint64_t check_log(const LogRecord& record, const LogKvInput& kv) const;
  /// Writes log `id`'s record value (mdb_put `record_flags`) and its pages in `txn`; LMDB's status.
  [[nodiscard]] int put_record_and_pages(MDB_txn* txn, LogId id, const std::string& record_value,
                                         const LogKvInput& kv, unsigned record_flags);
  /// Deletes log `id`'s pages in `txn`; LMDB's status.
  [[nodiscard]] int delete_pages(MDB_txn* txn, LogId id);
  /// Counts a change in `txn` (the generation every process's retrieval index follows) and, when a
  /// record was written, the schema version of checksummed records; LMDB's status.
  [[nodiscard]] int mark_changed(MDB_txn* txn, bool wrote_record);
  /// The retrieval index, rebuilt when any process changed the store since it was built.
  const RetrievalIndex& index();
  [[nodiscard]] std::uint64_t generation(MDB_txn* txn) const { return counter(txn, "generation"); }
  /// The 8-byte counter `key` of the meta table as of `txn` (0 when missing).
  [[nodiscard]] std::uint64_t counter(MDB_txn* txn, std::string_view key) const;
  /// embedder() as of `txn`; `recorded` tells whether the meta table holds the record.
  [[nodiscard]] std::optional<EmbedderFingerprint> embedder_in(MDB_txn* txn, bool& recorded) const;
  [[noreturn]] void fail_embedder_mismatch(const EmbedderFingerprint& stored,
                                           const EmbedderFingerprint& used) const;

  std::string dir_;
  StoreOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0, logs_ = 0, pages_ = 0, vectors_ = 0;
  Fingerprint fingerprint_;
  std::uint64_t map_size_ = 0;
  PageCodec codec_ = PageCodec::f16;
  IndexText index_text_ = IndexText::task;
  bool created_ = false, created_dir_ = false, locked_ = true, has_vectors_ = true;
  int open_readers_ = 0;
  std::unique_ptr<RetrievalIndex> index_;
  std::vector<UnreadableLog> unreadable_;  ///< found while building index_
  std::uint64_t index_generation_ = ~std::uint64_t(0);
};

}  // namespace lagvk::logstore
