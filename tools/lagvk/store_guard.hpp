#pragma once
// A last line of defence for commands that read a log store. LMDB reads the store through a memory map;
// the store checks what it can before mapping (both meta pages, the file's length), but damage deep
// inside a file (a page number flipped in a branch page) can still send LMDB to an address outside the
// file, and the kernel answers with SIGBUS or SIGSEGV. While a guard lives, such a fault ends the process
// with the CLI's usual "error: ..." line naming the store and exit status 1 instead of a signal.
// Install one only around code that runs the store (not around model or GPU code, whose faults are bugs);
// the previous handlers are restored when it ends. Not reentrant across threads: the CLI is one thread.
#include <csignal>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/error.hpp"
#include "engine/lag/log_library.hpp"
#include "logstore/store.hpp"

namespace lagvk::cli {

class StoreFaultGuard {
 public:
  explicit StoreFaultGuard(const std::string& store_dir);
  ~StoreFaultGuard();
  StoreFaultGuard(const StoreFaultGuard&) = delete;
  StoreFaultGuard& operator=(const StoreFaultGuard&) = delete;

 private:
  bool installed_ = false;  ///< false for a guard nested in another (the outer one handles faults)
  struct sigaction old_bus_ {
  }, old_segv_{};
};

/// Removes a store that this command created, if the command fails (an exception leaves the scope)
/// before a log was added to it: a failed command leaves no empty store bound to its model behind.
class DiscardNewStoreOnFailure {
 public:
  explicit DiscardNewStoreOnFailure(std::unique_ptr<logstore::Store>& store) : store_(store) {}
  ~DiscardNewStoreOnFailure() {
    if (std::uncaught_exceptions() > exceptions_)
      logstore::Store::discard_if_new_and_empty(std::move(store_));
  }
  DiscardNewStoreOnFailure(const DiscardNewStoreOnFailure&) = delete;
  DiscardNewStoreOnFailure& operator=(const DiscardNewStoreOnFailure&) = delete;

 private:
  std::unique_ptr<logstore::Store>& store_;
  int exceptions_ = std::uncaught_exceptions();
};

/// A LogLibrary (the store's, for 'ask') whose calls each run under a StoreFaultGuard. The KV sources it
/// returns read copies made inside kv(), so they need no guard.
class GuardedLibrary : public lag::LogLibrary {
 public:
  GuardedLibrary(lag::LogLibrary& inner, std::string store_dir)
      : inner_(inner), store_dir_(std::move(store_dir)) {}
  [[nodiscard]] std::vector<lag::RetrievedLog> retrieve(const std::string& query, std::uint32_t k,
                                                        const std::set<lag::LogId>& exclude) override {
    const StoreFaultGuard guard(store_dir_);
    return inner_.retrieve(query, k, exclude);
  }
  [[nodiscard]] std::vector<std::int32_t> tokens(lag::LogId id) override {
    const StoreFaultGuard guard(store_dir_);
    return inner_.tokens(id);
  }
  [[nodiscard]] LogKvSource kv(lag::LogId id) override {
    const StoreFaultGuard guard(store_dir_);
    return inner_.kv(id);
  }

 private:
  lag::LogLibrary& inner_;
  std::string store_dir_;
};

}  // namespace lagvk::cli
