#pragma once
// Thin RAII over LMDB's C API: an environment and transactions. A read transaction's values point into
// the memory map and stay valid until it ends; a write transaction is all or nothing.
#include <lmdb.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace lagvk::logstore {

/// Throws lagvk::Error("<what>: <mdb_strerror>") unless rc is MDB_SUCCESS.
void check_mdb(int rc, const char* what);

class Txn {
 public:
  Txn(MDB_env* env, bool write);
  /// Takes ownership of a transaction begun elsewhere.
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  ~Txn();
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;

  [[nodiscard]] MDB_txn* get() const { return txn_; }
  void commit();
  void abort();
  /// Gives up ownership (for mdb_txn_commit calls whose result the caller handles).
  [[nodiscard]] MDB_txn* release() { return std::exchange(txn_, nullptr); }

 private:
  MDB_txn* txn_ = nullptr;
};

/// What the two meta pages of an LMDB data file say, read with plain reads before LMDB maps the file.
struct DataFileCheck {
  bool blank = false;  ///< an empty file, or an LMDB environment whose main database holds nothing
  std::uint64_t page_size = 0, last_page = 0, txn_id = 0;
};

/// Reads and checks the meta pages of an existing LMDB data file (facts of LMDB's on-disk format: two
/// meta pages, magic 0xBEEFC0DE, version 1; the newer one by transaction id is the live one). A file
/// shorter than the pages its live meta page claims, or without two valid meta pages, would make LMDB
/// fault inside its memory map: it is refused as damaged, naming `store_dir`.
[[nodiscard]] DataFileCheck check_data_file(const std::string& path, const std::string& store_dir);

inline MDB_val as_val(std::span<const std::byte> bytes) {
  return MDB_val{bytes.size(), const_cast<std::byte*>(bytes.data())};
}
inline MDB_val as_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::span<const std::byte> as_bytes(const MDB_val& v) {
  return {static_cast<const std::byte*>(v.mv_data), v.mv_size};
}

}  // namespace lagvk::logstore
