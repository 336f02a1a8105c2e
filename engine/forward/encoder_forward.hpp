#pragma once
// The forward pass of encoder embedding models (BlockLayout::bert_encoder: BERT, all-MiniLM, bge) on the
// GPU: a whole text in one pass, every token attending to every other (the bidirectional attention
// kernel over a scratch paged KV sequence), post-norm LayerNorm blocks: bert's with learned positions,
// biased projections and a GELU feed-forward, nomic-bert's with RoPE, no biases and a SwiGLU feed-forward;
// then the model's pooling on the host. The decoder Forward is untouched by this path.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/forward/gpu_weights.hpp"
#include "engine/kv/kv_pool.hpp"
#include "engine/model/model.hpp"
#include "engine/vk/context.hpp"

namespace lagvk {

/// An encoder model's weights on the GPU, in their file formats.
struct EncoderGpuWeights {
  struct Layer {
    GpuTensor wq, wk, wv, wo;
    std::optional<GpuTensor> bq, bk, bv, bo;  ///< bert
    GpuTensor attn_out_norm, attn_out_norm_b, ffn_up;
    std::optional<GpuTensor> ffn_gate;  ///< nomic-bert
    std::optional<GpuTensor> b_up;      ///< bert
    GpuTensor ffn_down;
    std::optional<GpuTensor> b_down;  ///< bert
    GpuTensor out_norm, out_norm_b;
  };
  GpuTensor token_embd;
  std::optional<GpuTensor> position_embd;  ///< bert's learned positions (nomic-bert rotates instead)
  GpuTensor token_types, embd_norm, embd_norm_b;
  std::vector<Layer> layers;
  std::uint64_t bytes = 0;
};

class EncoderForward {
 public:
  /// Uploads `model`'s weights (the model must be an encoder: Errc::invalid_argument otherwise);
  /// `progress(done_bytes, total_bytes)` is called after each tensor.
  EncoderForward(vk::Context& ctx, const Model& model,
                 const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

  /// The most tokens one text may have: the model's positions (learned, or its training context).
  [[nodiscard]] std::uint32_t max_tokens() const { return max_tokens_; }
  [[nodiscard]] std::uint64_t weight_bytes() const { return weights_.bytes; }

  /// The final hidden states of `tokens` (tokens.size() x n_embd, row-major).
  [[nodiscard]] std::vector<float> encode(std::span<const std::int32_t> tokens);
  /// encode() pooled as the model's pooling_type says (mean, cls or last; not normalised).
  [[nodiscard]] std::vector<float> embed(std::span<const std::int32_t> tokens);

 private:
  void record(vk::CommandStream& cs, KvSequence& seq, std::uint32_t n);

  vk::Context& ctx_;
  ModelConfig config_;
  EncoderGpuWeights weights_;
  std::uint32_t max_tokens_ = 0;
  std::unique_ptr<KvPool> pool_;
  vk::Buffer ids_, positions_, x_, tmp_, q_, k_, v_, attn_, up_, gate_;
};

}  // namespace lagvk
