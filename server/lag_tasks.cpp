#include "server/lag_tasks.hpp"

#include <algorithm>
#include <set>

namespace lagvk::server {

std::optional<std::vector<TaskLog>> LagTasks::logs(const std::string& task_id) const {
  const std::lock_guard lock(mutex_);
  const auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return std::nullopt;
  return it->second.logs;
}

void LagTasks::remember(const std::string& task_id, std::vector<TaskLog> logs) {
  const std::lock_guard lock(mutex_);
  tasks_[task_id] = Entry{std::move(logs), ++clock_};
  if (tasks_.size() <= capacity_) return;
  const auto oldest = std::min_element(tasks_.begin(), tasks_.end(), [](const auto& a, const auto& b) {
    return a.second.used < b.second.used;
  });
  tasks_.erase(oldest);
}

std::vector<TaskLog> gathered_logs(const std::vector<TaskLog>& taken, const std::vector<TaskLog>& found,
                                   std::uint32_t k, const std::vector<std::uint64_t>& in_store) {
  // A log removed since the task took it (DELETE /v1/logs/ID, or another process) is dropped.
  const std::set<std::uint64_t> present(in_store.begin(), in_store.end());
  std::vector<TaskLog> out;
  std::set<std::uint64_t> ids;
  for (const TaskLog& l : taken)
    if (present.count(l.id) && ids.insert(l.id).second) out.push_back(l);
  std::uint32_t added = 0;
  for (const TaskLog& l : found) {
    if (added == k) break;
    if (present.count(l.id) && ids.insert(l.id).second) {
      out.push_back(l);
      ++added;
    }
  }
  return out;
}

}  // namespace lagvk::server
