#pragma once
// lagvk bench's progress on stderr: a line as each step starts ("[ 40%, 1m10s elapsed, ETA 1m45s]
// kernels: q4_0") and one with its result in real units. Steps are weighted by the work they do (tokens
// evaluated, bytes moved), and the ETA extrapolates the time the finished weight took, so it settles as the
// run goes. Plain lines, not a redrawn bar: a benchmark's log is read afterwards.
#include <cstdio>
#include <functional>
#include <string>

namespace lagvk::cli {

class BenchProgress {
 public:
  /// total_weight: the sum of the weights of every step to come.
  BenchProgress(double total_weight, std::FILE* stream = stderr, std::function<double()> seconds = {});

  /// A step of `weight` begins (the one before, if any, is done).
  void begin(const std::string& what, double weight);
  /// The running step's result ("matvec 12.1 GB/s (61% of the copy roof)").
  void result(const std::string& text);
  /// Everything done: prints the total time.
  void finish();

  /// "[ 40%, 1m10s elapsed, ETA 1m45s]": the ETA is left out until a step has finished.
  [[nodiscard]] std::string status() const;

 private:
  double total_ = 0, done_ = 0, running_ = 0, started_ = 0;
  std::FILE* stream_;
  std::function<double()> seconds_;
};

}  // namespace lagvk::cli
