#pragma once
// The logs each agent task has gathered across its requests (the `lag` field's task_id). An agent sends
// its whole transcript at every step; the server retrieves with the task's question on the first request
// and with the latest assistant message on each later one, adding only logs the task has not taken yet,
// as `lagvk ask --agent` does between its steps. Bounded: the least recently used tasks are forgotten.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lagvk::server {

/// A log a task has taken, with the score retrieval gave it.
struct TaskLog {
  std::uint64_t id = 0;
  double score = 0;
};

/// The most tasks remembered at once.
inline constexpr std::size_t kMaxLagTasks = 4096;

class LagTasks {
 public:
  explicit LagTasks(std::size_t capacity = kMaxLagTasks) : capacity_(capacity) {}

  /// The logs of task_id in context order; nullopt for a task not seen yet (or forgotten). Thread-safe.
  [[nodiscard]] std::optional<std::vector<TaskLog>> logs(const std::string& task_id) const;
  /// Records the task's logs; beyond the capacity the least recently used task is forgotten. Thread-safe.
  void remember(const std::string& task_id, std::vector<TaskLog> logs);

 private:
  struct Entry {
    std::vector<TaskLog> logs;
    std::uint64_t used = 0;
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> tasks_;
  std::uint64_t clock_ = 0;
};

/// The logs a request places: `taken` (those still in the store, in order) followed by up to k of
/// `found` that are not taken (best first). Scores of found logs replace nothing already taken.
[[nodiscard]] std::vector<TaskLog> gathered_logs(const std::vector<TaskLog>& taken,
                                                 const std::vector<TaskLog>& found, std::uint32_t k,
                                                 const std::vector<std::uint64_t>& in_store);

}  // namespace lagvk::server
