#pragma once
// The one definition of a log's id, shared by the store, its retrieval index and the LAG scheduler.
#include <cstdint>

namespace lagvk::logstore {

/// A log's id in its store, assigned by Store::put_log (the key of the `logs` database).
using LogId = std::uint64_t;

}  // namespace lagvk::logstore
