#include "tools/lagvk/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace lagvk::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || finished_ || total == 0) return;
  const int percent = int(done * 100 / total);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% (%.1f / %.1f MB)", label_.c_str(), filled,
               "##############################", kWidth - filled, "", percent, done / 1e6, total / 1e6);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && !finished_ && last_percent_ >= 0) std::fprintf(stderr, "\n");
  finished_ = true;
}

}  // namespace lagvk::cli
