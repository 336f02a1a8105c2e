#pragma once
// A one-line progress bar on stderr for long work (model upload, building stores). Silent when stderr
// is not a terminal, so logs and scripts stay clean.
#include <cstdint>
#include <string>

namespace lagvk::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// done out of total units (bytes, items); redraws at most every 1%.
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool finished_ = false;
  int last_percent_ = -1;
};

}  // namespace lagvk::cli
