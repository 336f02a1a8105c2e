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

/// An exclusive flock() on a descriptor, released when this ends (or by the kernel when the process dies).
/// Writers take it on the environment's data file before LMDB's write mutex, so that no process ever
/// sleeps on that robust futex: a writer killed between its unlock's release of the futex word and its
/// wake-up would leave such a sleeper unwoken for ever (the kernel's clean-up wakes no one once another
/// writer has taken the lock meanwhile). flock and LMDB's fcntl locks on lock.mdb are independent.
class WriterLock {
 public:
  WriterLock() = default;
  /// Blocks until the lock is held; throws lagvk::Error naming `what` if flock fails.
  WriterLock(int fd, const std::string& what);
  ~WriterLock() { unlock(); }
  WriterLock(WriterLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  WriterLock& operator=(WriterLock&& other) noexcept {
    if (this != &other) {
      unlock();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  void unlock();

 private:
  int fd_ = -1;
};

class Txn {
 public:
  Txn(MDB_env* env, bool write);
  /// Takes ownership of a transaction begun elsewhere (and of the writer lock taken for it, if any).
  explicit Txn(MDB_txn* txn, WriterLock lock = {}) : txn_(txn), lock_(std::move(lock)) {}
  ~Txn();
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;

  [[nodiscard]] MDB_txn* get() const { return txn_; }
  void commit();
  /// Commits and returns LMDB's status instead of throwing (for callers that handle a full map).
  [[nodiscard]] int commit_status();
  void abort();

 private:
  MDB_txn* txn_ = nullptr;
  WriterLock lock_;  ///< released after the transaction ends
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
