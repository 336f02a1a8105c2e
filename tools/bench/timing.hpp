#pragma once
// Wall-clock timing for the benchmarks: one steady clock and a best-of-N helper.
#include <chrono>

namespace lagvk::bench {

using Clock = std::chrono::steady_clock;

[[nodiscard]] inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace lagvk::bench
