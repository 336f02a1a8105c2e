#include "tools/lagvk/bench_progress.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "tools/lagvk/progress.hpp"

namespace lagvk::cli {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

BenchProgress::BenchProgress(double total_weight, std::FILE* stream, std::function<double()> seconds)
    : total_(std::max(total_weight, 1e-9)),
      stream_(stream),
      seconds_(seconds ? std::move(seconds) : steady_seconds) {
  started_ = seconds_();
}

std::string BenchProgress::status() const {
  const double elapsed = seconds_() - started_;
  const int percent = int(std::min(100.0, 100.0 * done_ / total_));
  if (done_ <= 0) return fmt::format("[{:3}%, {} elapsed]", percent, format_duration(elapsed));
  const double eta = elapsed / done_ * std::max(0.0, total_ - done_);
  return fmt::format("[{:3}%, {} elapsed, ETA {}]", percent, format_duration(elapsed), format_duration(eta));
}

void BenchProgress::begin(const std::string& what, double weight) {
  done_ += running_;
  running_ = weight;
  fmt::print(stream_, "{} {}\n", status(), what);
  std::fflush(stream_);
}

void BenchProgress::result(const std::string& text) {
  fmt::print(stream_, "        {}\n", text);
  std::fflush(stream_);
}

void BenchProgress::finish() {
  done_ += running_;
  running_ = 0;
  fmt::print(stream_, "done in {}\n", format_duration(seconds_() - started_));
  std::fflush(stream_);
}

}  // namespace lagvk::cli
