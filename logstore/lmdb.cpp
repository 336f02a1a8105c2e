#include "logstore/lmdb.hpp"

#include <utility>

#include "engine/core/error.hpp"

namespace lagvk::logstore {

void check_mdb(int rc, const char* what) {
  if (rc == MDB_SUCCESS) return;
  if (rc == MDB_MAP_FULL)
    fail("{}: store full (the LMDB map is at its maximum size); raise --max-size or remove logs", what);
  fail("{}: {}", what, mdb_strerror(rc));
}

Txn::Txn(MDB_env* env, bool write) {
  check_mdb(mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_), "mdb_txn_begin");
}

Txn::~Txn() {
  if (txn_) mdb_txn_abort(txn_);
}

Txn::Txn(Txn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}

void Txn::commit() {
  MDB_txn* t = std::exchange(txn_, nullptr);
  check_mdb(mdb_txn_commit(t), "mdb_txn_commit");
}

void Txn::abort() {
  if (txn_) mdb_txn_abort(std::exchange(txn_, nullptr));
}

}  // namespace lagvk::logstore
