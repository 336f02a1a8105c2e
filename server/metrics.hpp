#pragma once
// What GET /metrics reports, in Prometheus' text exposition format (version 0.0.4): requests by route and
// status, prompt, generated and cached tokens, the requests waiting in the queue, and the time from a
// generation's start to its first token as a histogram. Counters only go up for the server's life; every
// method is thread-safe (each request's thread records its own).
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace lagvk::server {

class Metrics {
 public:
  /// Upper bounds (seconds) of the time-to-first-token histogram's buckets (+Inf is added).
  static constexpr std::array<double, 12> kTimeToFirstTokenBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                      0.5,   1,    2.5,   5,    10,  30};

  /// One answered request: route is the path of a known endpoint, or "other" (a label per unknown path
  /// would let any client grow the metrics without bound).
  void count_request(const std::string& route, int status);
  /// One finished generation's tokens.
  void count_tokens(std::uint64_t prompt, std::uint64_t generated, std::uint64_t cached);
  void observe_time_to_first_token(double seconds);

  /// The exposition text; queue_depth is read by the caller at scrape time.
  [[nodiscard]] std::string render(std::size_t queue_depth) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::uint64_t prompt_tokens_ = 0, generated_tokens_ = 0, cached_tokens_ = 0;
  std::array<std::uint64_t, kTimeToFirstTokenBuckets.size()> ttft_buckets_{};  ///< per bucket, not cumulative
  std::uint64_t ttft_count_ = 0;
  double ttft_sum_ = 0;
};

}  // namespace lagvk::server
