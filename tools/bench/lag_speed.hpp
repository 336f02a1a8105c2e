#pragma once
// LAG time to first token: a question asked with k stored logs of T tokens each, in kv mode (the logs'
// stored KV spliced in), text mode (the logs' tokens prefilled again) and none (the question alone), on
// one engine, from a scratch store of random logs that the bench removes when done.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/store_library.hpp"
#include "logstore/store.hpp"

namespace lagvk::bench {

struct LagTtft {
  std::uint32_t tokens_per_log = 0, k = 0;
  std::string mode;  ///< kv, text, none
  double logs_ms = 0, prompt_ms = 0, ttft_ms = 0;
};

class LagBench {
 public:
  /// A fresh store in `dir` (removed first and again by the destructor) for the engine's model; warms
  /// the splice and prefill pipelines up.
  LagBench(Engine& engine, std::string dir);
  ~LagBench();
  LagBench(const LagBench&) = delete;
  LagBench& operator=(const LagBench&) = delete;

  /// A log of `tokens` random tokens with random (small, finite) fp16 KV: timing does not depend on values.
  logstore::LogId add_log(std::uint32_t tokens, std::uint32_t seed, const std::string& task);

  /// Every (tokens per log, k, mode) of the table, on_row called as each is measured.
  std::vector<LagTtft> ttft_table(const std::vector<std::uint32_t>& tokens_per_log,
                                  const std::vector<std::uint32_t>& ks,
                                  const std::function<void(const LagTtft&)>& on_row = {});

  [[nodiscard]] logstore::Store& store() { return *store_; }
  [[nodiscard]] lag::StoreLibrary& library() { return *library_; }
  [[nodiscard]] const std::vector<std::int32_t>& prompt() const { return prompt_; }

 private:
  Engine& engine_;
  std::string dir_;
  std::unique_ptr<logstore::Store> store_;
  std::unique_ptr<lag::StoreLibrary> library_;
  std::vector<std::int32_t> prompt_;
};

}  // namespace lagvk::bench
