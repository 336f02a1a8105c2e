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

/// One sequence's share of a batched pass (Forward::eval_segments): its next `tokens` rows of the batch.
struct ForwardSegment {
  KvSequence* seq = nullptr;
  std::uint32_t tokens = 0;
};

struct ForwardTimings {
  double gpu_ms = 0.0;  ///< wall time from recording to results
  std::uint32_t dispatches = 0;
  std::uint32_t barriers = 0;  ///< memory barriers between the pass's commands
  std::uint32_t submits = 0;
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

  /// eval() from input embeddings instead of token ids: rows of `dim` floats, each what the token
  /// embedding table holds for a token (the model's own input scaling, gemma's, is applied after).
  /// Cache augmentation feeds a coprocessor's latents to the decoder this way.
  [[nodiscard]] std::vector<float> eval_embeddings(KvSequence& seq, std::span<const float> embeddings,
                                                   std::span<const std::int32_t> positions);
  /// The final normalised hidden states (what the output projection would read) of every input row,
  /// rows x dim: a coprocessor's latents for its soft-token embeddings. Appends to `seq`.
  [[nodiscard]] std::vector<float> hidden_states(KvSequence& seq, std::span<const float> embeddings,
                                                 std::span<const std::int32_t> positions);

  /// Runs several sequences in one pass (continuous batching: the decode steps of many requests, a
  /// chunk of one's prompt beside them): segment i owns the next segments[i].tokens of `tokens` and
  /// `positions`, appended to its own sequence. The weights are read once for all rows; attention runs
  /// per sequence over its own block table. Returns the logits of each segment's last token (segments x
  /// vocab). The rows must fit max_batch, and no sequence may appear twice.
  [[nodiscard]] std::vector<float> eval_segments(std::span<const ForwardSegment> segments,
                                                 std::span<const std::int32_t> tokens,
                                                 std::span<const std::int32_t> positions);
  [[nodiscard]] std::uint32_t max_batch() const { return max_batch_; }

  /// The mean over `tokens` of the model's final normalised hidden states (what the output projection
  /// would read): a text embedding from the model itself, for dense log retrieval. Appends to `seq`.
  [[nodiscard]] std::vector<float> mean_hidden_state(KvSequence& seq, std::span<const std::int32_t> tokens,
                                                     std::span<const std::int32_t> positions);

  [[nodiscard]] const ForwardTimings& last_timings() const { return timings_; }
  /// Records GPU timestamps around every kernel (ForwardTimings::kernels); costs a little time.
  void set_profiling(bool on) { profile_ = on; }
  /// A decode row's RMS norms (each block's two, the final one) run inside the projections that read
  /// them (ops::InputNorm), 2 x layers + 1 dispatches fewer per token; off: as separate kernels (tests
  /// compare the two).
  void set_input_norm_fusion(bool on) { fuse_input_norms_ = on; }
  [[nodiscard]] const GpuWeights& weights() const { return weights_; }

 private:
  /// last_logits: each segment's last row; all_logits: every row (one segment); hidden_sum: the final
  /// normalised hidden states of every row, left in xn_ (one segment).
  /// hidden_rows: the same, read back row by row.
  enum class Output { last_logits, all_logits, hidden_sum, hidden_rows };
  /// A pass's input: token ids, or rows of input embeddings (exactly one is non-empty).
  struct Input {
    std::span<const std::int32_t> tokens;
    std::span<const float> embeddings;
  };
  /// `embedded`: x_ already holds the rows' input embeddings (no token lookup).
  void record_batch(vk::CommandStream& cs, std::span<const ForwardSegment> segments, std::uint32_t n,
                    Output output, bool embedded = false);
  /// Where a pass's projected queries, keys and values are (q_, k_, v_, or qkv_row_ for a decode row
  /// projected with stacked weights).
  struct Qkv {
    vk::BufferView q, k, v;
  };
  /// Rotates the n_rows queries of qkv.q and writes each segment's new keys (rotated on the way) and values
  /// into its cache, then runs its attention (rows of qkv.q to rows of attn_); `kv_starts` are the sequences'
  /// lengths before this pass.
  void record_attention(vk::CommandStream& cs, std::span<const ForwardSegment> segments,
                        std::span<const std::uint32_t> kv_starts, std::uint32_t layer, std::uint32_t n_rows,
                        const Qkv& qkv, const ops::RopeArgs& rope);
  /// The stream for the next pass, cleared of anything a failed pass left in it.
  [[nodiscard]] vk::CommandStream& begin_pass();
  /// Adds the finished pass's dispatches, barriers and submits to timings_.
  void count_pass(const vk::StreamCounts& before);
  /// Makes logits_ hold at least `rows` rows (it grows to the most rows a pass has asked for).
  void reserve_logit_rows(std::uint32_t rows);
  /// Records the copy of the first `rows` logit rows to where the host reads them (none when logits_
  /// is host-visible itself).
  void record_logits_readback(vk::CommandStream& cs, std::uint32_t rows);
  /// Copies the first `rows` logit rows of the finished pass to `out`.
  void read_logits(std::uint32_t rows, std::span<float> out) const;
  void check_tokens(std::span<const std::int32_t> tokens, std::span<const std::int32_t> positions) const;
  /// The rows of `input`, after checking its token ids or its embeddings' shape against `positions`.
  [[nodiscard]] std::size_t check_input(const Input& input, std::span<const std::int32_t> positions) const;
  [[nodiscard]] std::vector<float> run(KvSequence& seq, const Input& input,
                                       std::span<const std::int32_t> positions, Output output);

  vk::Context& ctx_;
  const GpuWeights& weights_;
  std::uint32_t max_batch_;
  vk::Buffer ids_, positions_, x_, xn_, q_, k_, v_, attn_, tmp_, gate_, up_;
  /// One decode row's [q | k | v] and its gated feed-forward activation, as the stacked projections
  /// (GpuLayer::wqkv, w_gate_up) write them.
  vk::Buffer qkv_row_, ffn_row_;
  /// Rows of logits for the tokens that need them (each segment's last, or every row for all_logits),
  /// and their host-visible copy when logits_ is not host-visible (a discrete GPU's device memory).
  vk::Buffer logits_, logits_host_;
  std::uint32_t logit_rows_ = 0;
  /// Tokens whose split-K attention partial states fit in attn_partials_ at once (decode steps).
  static constexpr std::uint32_t kSplitAttentionTokens = 8;
  vk::Buffer attn_partials_;  ///< split-K partial states (ops::attention_scratch_bytes)
  ForwardTimings timings_;
  bool profile_ = false;
  bool fuse_input_norms_ = true;
  /// One stream for every pass (declared last: destroyed first, it waits for the GPU before the
  /// buffers above go): no command pool, fence or command buffer is created per token.
  vk::CommandStream stream_;
};

}  // namespace lagvk
