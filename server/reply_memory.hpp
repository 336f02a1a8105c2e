#pragma once
// The text of the tool-calling answers the server gave, by the id of their first call. Clients such as
// LangChain JS send an assistant message with tool calls back without its text (content ""), but a model's
// own format may need it: the plain format's line is "FACTS ? Action: lookup(R, X)", and the shipped
// multihop model loses its way when it sees only the action. A message that comes back with empty content
// and a call id the server gave gets its text back. The last `capacity` answers are kept.
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace lagvk::server {

class ReplyMemory {
 public:
  explicit ReplyMemory(std::size_t capacity = 4096) : capacity_(capacity) {}

  void remember(const std::string& call_id, const std::string& content);
  [[nodiscard]] std::optional<std::string> recall(const std::string& call_id) const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> text_;
  std::deque<std::string> order_;  ///< oldest first, for eviction
};

}  // namespace lagvk::server
