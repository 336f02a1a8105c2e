#pragma once
// The transformer forward pass on the GPU for llama-family architectures (llama, qwen2, qwen3 differ only
// in ForwardConfig switches). Prefill batches go through matrix multiplies, single tokens through
// matrix-vector kernels; keys and values are appended to a paged KV sequence, and attention reads the
// whole sequence through its block table (including any spliced log pages).
#include <cstdint>
#include <span>
#include <vector>

#include "engine/forward/gpu_weights.hpp"
#include "engine/kv/kv_pool.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk {

struct ForwardTimings {
  double gpu_ms = 0.0;  ///< wall time from recording to results
  std::uint32_t dispatches = 0;
  std::vector<vk::TimedDispatch> kernels;  ///< per-kernel GPU times, when profiling is on
};

class Forward {
 public:
  /// max_batch bounds the tokens processed per pass (longer inputs are split) and so the scratch memory.
  Forward(vk::Context& ctx, const GpuWeights& weights, std::uint32_t max_batch = 256);

  /// Runs `tokens` (token t at positions[t]) through the model, appending their keys and values to `seq`.
  /// Returns the logits of the last token, or of every token (tokens x vocab) when all_logits is set.
  [[nodiscard]] std::vector<float> eval(KvSequence& seq, std::span<const std::int32_t> tokens,
                                        std::span<const std::int32_t> positions, bool all_logits = false);

  /// The mean over `tokens` of the model's final normalised hidden states (what the output projection
  /// would read): a text embedding from the model itself, for dense log retrieval. Appends to `seq`.
  [[nodiscard]] std::vector<float> mean_hidden_state(KvSequence& seq, std::span<const std::int32_t> tokens,
                                                     std::span<const std::int32_t> positions);

  [[nodiscard]] const ForwardTimings& last_timings() const { return timings_; }
  /// Records GPU timestamps around every kernel (ForwardTimings::kernels); costs a little time.
  void set_profiling(bool on) { profile_ = on; }
  [[nodiscard]] const GpuWeights& weights() const { return weights_; }

 private:
  enum class Output { last_logits, all_logits, hidden_sum };
  void record_batch(vk::CommandStream& cs, KvSequence& seq, std::uint32_t n, Output output);
  [[nodiscard]] std::vector<float> run(KvSequence& seq, std::span<const std::int32_t> tokens,
                                       std::span<const std::int32_t> positions, Output output);

  vk::Context& ctx_;
  const GpuWeights& weights_;
  std::uint32_t max_batch_;
  vk::Buffer ids_, positions_, x_, xn_, q_, k_, v_, attn_, tmp_, gate_, up_, logits_;
  ForwardTimings timings_;
  bool profile_ = false;
};

}  // namespace lagvk
