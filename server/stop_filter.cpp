#include "server/stop_filter.hpp"

namespace lagvk::server {

std::string StopFilter::push(std::string_view text) {
  if (stopped_) return "";
  pending_ += text;
  // The first stop string in the text ends it (text held back earlier is re-searched with the new bytes).
  std::size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  const std::size_t keep = possible_stop_suffix();
  std::string out = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StopFilter::finish() {
  std::string out;
  out.swap(pending_);
  return stopped_ ? "" : out;
}

std::size_t StopFilter::possible_stop_suffix() const {
  std::size_t longest = 0;
  for (const auto& s : stops_) {
    const std::size_t max_len = std::min(s.size() - 1, pending_.size());
    for (std::size_t len = max_len; len > longest; --len)
      if (std::string_view(pending_).substr(pending_.size() - len) == std::string_view(s).substr(0, len)) {
        longest = len;
        break;
      }
  }
  return longest;
}

}  // namespace lagvk::server
