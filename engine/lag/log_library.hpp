#pragma once
// What the LAG scheduler needs from a collection of logs, independent of how they are stored: retrieval
// by query, each log's selected token ids (for the text-log baseline) and its KV pages (for splicing).
// The LMDB store implements it (store_library.hpp); tests can implement it in memory.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/kv/log_kv.hpp"
#include "logstore/log_id.hpp"

namespace lagvk::lag {

using logstore::LogId;

struct RetrievedLog {
  LogId id = 0;
  double score = 0.0;
  std::string task;
};

class LogLibrary {
 public:
  virtual ~LogLibrary() = default;
  /// The k best logs for `query` that are not in `exclude`, best first.
  [[nodiscard]] virtual std::vector<RetrievedLog> retrieve(const std::string& query, std::uint32_t k,
                                                           const std::set<LogId>& exclude) = 0;
  /// The log's selected tokens (what the text-log baseline prefills).
  [[nodiscard]] virtual std::vector<std::int32_t> tokens(LogId id) = 0;
  /// The log's KV pages; valid until the next call on this library.
  [[nodiscard]] virtual LogKvSource kv(LogId id) = 0;
};

}  // namespace lagvk::lag
