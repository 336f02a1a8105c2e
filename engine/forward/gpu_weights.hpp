#pragma once
// A model's weights resident on the GPU, in their file formats (quantized weights stay quantized), and
// the hyper-parameters the forward pass needs. Built from a host description (HostWeights) whose
// tensor bytes usually point into a memory-mapped GGUF file.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/ops/rope.hpp"
#include "engine/ops/weight_format.hpp"
#include "engine/ref/ops.hpp"
#include "engine/vk/buffer.hpp"
#include "engine/vk/context.hpp"

namespace lagvk {

struct ForwardConfig {
  std::uint32_t layers = 0, dim = 0, heads = 0, kv_heads = 0, head_dim = 0, ff = 0, vocab = 0;
  std::uint32_t context = 0;  ///< the model's trained context length
  float norm_eps = 1e-5f;
  ref::RopeMode rope_mode = ref::RopeMode::normal;
  std::uint32_t rope_dims = 0;  ///< 0 means head_dim
  float rope_base = 10000.0f, rope_scale = 1.0f;
  bool qkv_bias = false;  ///< qwen2
  bool qk_norm = false;   ///< qwen3, gemma3: per-head RMSNorm on q and k
  // gemma (see ArchTraits): GeGLU, embeddings times sqrt(dim), post-attention and post-FFN norms, the
  // query scale, soft caps (0: none) and sliding-window layers with their own RoPE base.
  bool geglu = false;
  bool scale_embeddings = false;
  bool post_norms = false;
  float attn_scale = 0.0f;  ///< 0 means 1/sqrt(head_dim)
  float attn_softcap = 0.0f, final_softcap = 0.0f;
  std::uint32_t sliding_window = 0;  ///< 0: every layer sees the whole sequence
  std::uint32_t swa_period = 0;      ///< layer l slides unless l % swa_period == swa_period - 1
  float swa_rope_base = 0.0f;        ///< sliding layers' RoPE base (no scaling); 0: the model's

  /// Whether layer `layer` attends through the sliding window.
  [[nodiscard]] bool is_sliding(std::uint32_t layer) const {
    return sliding_window > 0 && swa_period > 0 && layer % swa_period != swa_period - 1;
  }
};

/// One weight tensor on the host: format, shape (rows x cols, cols being the inner dimension) and bytes.
struct HostTensor {
  std::string name;
  WeightFormat format = WeightFormat::f32;
  std::uint64_t rows = 0, cols = 0;
  std::span<const std::byte> data;
};

struct HostLayer {
  HostTensor attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
  std::optional<HostTensor> bq, bk, bv, q_norm, k_norm;
  std::optional<HostTensor> attn_post_norm, ffn_post_norm;  ///< gemma
};

struct HostWeights {
  ForwardConfig config;
  HostTensor token_embd, output_norm;
  std::optional<HostTensor> output;      ///< absent: tied to token_embd
  std::optional<HostTensor> rope_freqs;  ///< llama3 per-pair frequency factors
  std::vector<HostLayer> layers;
};

struct GpuTensor {
  WeightFormat format = WeightFormat::f32;
  std::uint64_t rows = 0, cols = 0;
  /// The buffer holding the tensor's bytes from `offset` on. Tensors stacked in one buffer share it (see
  /// GpuLayer::wqkv); it lives as long as any of them.
  std::shared_ptr<const vk::Buffer> storage;
  std::uint64_t offset = 0;

  /// A tensor in a buffer of its own, `bytes` long (padded to 16 bytes: kernels binding it through a
  /// descriptor read whole 16-byte words).
  static GpuTensor create(vk::Context& ctx, WeightFormat format, std::uint64_t rows, std::uint64_t cols,
                          std::uint64_t bytes);
  /// The tensor's bytes as kernels take them, with the padding up to the next 16-byte boundary.
  [[nodiscard]] vk::BufferView view() const;
};

struct GpuLayer {
  GpuTensor attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
  std::optional<GpuTensor> bq, bk, bv, q_norm, k_norm;
  std::optional<GpuTensor> attn_post_norm, ffn_post_norm;
  /// Where wq, wk and wv share a format and the device can bind each where it starts, they are stacked row
  /// after row in one buffer and this is the whole stack (q_dim + 2 kv_dim rows): a decode step projects
  /// q, k and v with one matrix-vector dispatch (one pass over x, one dispatch's overhead instead of three).
  /// w_gate_up likewise stacks w_gate and w_up (2 ff rows).
  std::optional<GpuTensor> wqkv, w_gate_up;
};

/// Whether GpuWeights stacks q/k/v and gate/up weights where it can (GpuLayer::wqkv, w_gate_up) or keeps
/// every tensor in a buffer of its own (what tests compare the stacked decode step with).
enum class ProjectionStacking : std::uint8_t { stacked, separate };

class GpuWeights {
 public:
  /// Uploads every tensor; `progress(done_bytes, total_bytes)` is called after each one.
  GpuWeights(vk::Context& ctx, const HostWeights& host,
             const std::function<void(std::uint64_t, std::uint64_t)>& progress = {},
             ProjectionStacking stacking = ProjectionStacking::stacked);

  [[nodiscard]] const ForwardConfig& config() const { return config_; }
  [[nodiscard]] const GpuTensor& token_embd() const { return token_embd_; }
  [[nodiscard]] const GpuTensor& output_norm() const { return output_norm_; }
  [[nodiscard]] const GpuTensor& output() const { return output_ ? *output_ : token_embd_; }
  [[nodiscard]] const std::optional<GpuTensor>& rope_freqs() const { return rope_freqs_; }
  [[nodiscard]] const GpuLayer& layer(std::uint32_t l) const { return layers_.at(l); }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  ForwardConfig config_;
  GpuTensor token_embd_, output_norm_;
  std::optional<GpuTensor> output_, rope_freqs_;
  std::vector<GpuLayer> layers_;
  std::uint64_t bytes_ = 0;
};

/// The model's rotary embedding as kernels take it (mode, dimensions, base, scaling, frequency factors),
/// one for every layer (what log KV capture and splicing use); Errc::unsupported_model for a model whose
/// layers differ (gemma3).
[[nodiscard]] ops::RopeArgs rope_args(const GpuWeights& weights);
/// That of one layer: sliding-window layers may have their own base and no scaling (gemma3).
[[nodiscard]] ops::RopeArgs rope_args(const GpuWeights& weights, std::uint32_t layer);

/// Checks shapes and formats of a host description against its config, naming the first bad tensor.
void validate(const HostWeights& host);

}  // namespace lagvk
