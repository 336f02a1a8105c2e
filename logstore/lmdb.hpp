#pragma once
// Thin RAII over LMDB's C API: an environment and transactions. A read transaction's values point into
// the memory map and stay valid until it ends; a write transaction is all or nothing.
#include <lmdb.h>

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
