#include "server/reply_memory.hpp"

namespace lagvk::server {

void ReplyMemory::remember(const std::string& call_id, const std::string& content) {
  if (capacity_ == 0) return;
  const std::lock_guard<std::mutex> lock(mutex_);
  if (text_.insert_or_assign(call_id, content).second) order_.push_back(call_id);
  while (order_.size() > capacity_) {
    text_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<std::string> ReplyMemory::recall(const std::string& call_id) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = text_.find(call_id);
  if (it == text_.end()) return std::nullopt;
  return it->second;
}

}  // namespace lagvk::server
