#pragma once
// OpenAI's stop strings end the text before them: the stop string itself is never sent. The library
// stops once its text holds one (and keeps it in the text), so the server holds back the end of the text
// that could still become a stop string, and cuts at the first one found. Streamed and whole responses
// run through the same filter, so their texts are equal.
#include <string>
#include <string_view>
#include <vector>

namespace lagvk::server {

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  /// Adds generated text; returns what can be sent now (nothing after a stop string, and nothing that
  /// may be the start of one).
  [[nodiscard]] std::string push(std::string_view text);
  /// The text held back, once generation has ended (without any stop string).
  [[nodiscard]] std::string finish();
  /// True once a stop string was seen: the rest of the generation is to be dropped.
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }

 private:
  /// Bytes at the end of pending_ that are the start of some stop string.
  [[nodiscard]] std::size_t possible_stop_suffix() const;

  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace lagvk::server
