#pragma once
// An opened GGUF model: its configuration and a validated view of every weight it needs, in place in
// the file mapping. Both the GPU upload and the CPU reference read weights through these views.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/model/gguf_reader.hpp"
#include "engine/model/model_config.hpp"
#include "engine/model/tensor_type.hpp"

namespace lagvk {

/// One stored tensor. ne[0] is the row length: a weight W of shape [out, in] has ne = {in, out}.
struct TensorView {
  std::string name;
  GgmlType type = GgmlType::f32;
  std::vector<std::uint64_t> ne;
  std::span<const std::uint8_t> data;  ///< raw stored bytes (valid while the Model lives)

  [[nodiscard]] std::uint64_t row_length() const { return ne[0]; }
  [[nodiscard]] std::uint64_t rows() const {
    std::uint64_t r = 1;
    for (std::size_t i = 1; i < ne.size(); ++i) r *= ne[i];
    return r;
  }
  [[nodiscard]] std::uint64_t n_elements() const { return row_length() * rows(); }
  /// All elements as float (dequantized).
  [[nodiscard]] std::vector<float> to_float() const;
};

struct LayerWeights {
  TensorView attn_norm;                      ///< [n_embd]
  TensorView wq;                             ///< ne {n_embd, q_dim}
  TensorView wk;                             ///< ne {n_embd, kv_dim}
  TensorView wv;                             ///< ne {n_embd, kv_dim}
  TensorView wo;                             ///< ne {q_dim, n_embd}
  std::optional<TensorView> bq, bk, bv;      ///< qwen2: [q_dim], [kv_dim], [kv_dim]
  std::optional<TensorView> q_norm, k_norm;  ///< qwen3: [head_dim]
  TensorView ffn_norm;                       ///< [n_embd]
  TensorView ffn_gate;                       ///< ne {n_embd, n_ff}
  TensorView ffn_up;                         ///< ne {n_embd, n_ff}
  TensorView ffn_down;                       ///< ne {n_ff, n_embd}
  /// gemma: post_attention_norm and post_ffw_norm, [n_embd] each, on attention's and the FFN's outputs.
  std::optional<TensorView> attn_post_norm, ffn_post_norm;

  // Encoders (BlockLayout::bert_encoder) have no attn_norm, ffn_norm or ffn_gate; they have biases on
  // the other projections and a LayerNorm (weight and bias) after each residual add.
  std::optional<TensorView> bo, b_up, b_down;                ///< [n_embd], [n_ff], [n_embd]
  std::optional<TensorView> attn_out_norm, attn_out_norm_b;  ///< attn_output_norm: after attention
  std::optional<TensorView> out_norm, out_norm_b;            ///< layer_output_norm: after the FFN
};

struct ModelWeights {
  TensorView token_embd;                 ///< ne {n_embd, n_vocab}
  TensorView output_norm;                ///< [n_embd]
  TensorView output;                     ///< ne {n_embd, n_vocab}; token_embd itself when tied
  std::optional<TensorView> rope_freqs;  ///< [rope_dims / 2], F32
  std::optional<TensorView> rope_factors_long, rope_factors_short;  ///< phi3 LongRoPE: [rope_dims / 2], F32
  std::vector<LayerWeights> layers;

  // Encoders have no output_norm or output; they add learned position and token-type embeddings to the
  // token embedding and normalise the sum.
  std::optional<TensorView> position_embd;                       ///< ne {n_embd, n_ctx_train}
  std::optional<TensorView> token_types;                         ///< ne {n_embd, n_token_types}
  std::optional<TensorView> token_embd_norm, token_embd_norm_b;  ///< [n_embd]
};

/// The rows [first, first + count) of a matrix view (a part of a fused tensor), named NAME[what].
[[nodiscard]] TensorView row_slice(const TensorView& t, std::uint64_t first, std::uint64_t count,
                                   std::string_view what);

class Model;

/// The per-pair RoPE frequency divisors a model runs with at a context of `context` tokens: rope_freqs
/// (llama3), or phi3's long factors when the context exceeds the original one and its short ones
/// otherwise (as llama.cpp chooses them), or none.
[[nodiscard]] std::optional<TensorView> rope_factors(const Model& model, std::uint32_t context);

class Model {
 public:
  /// Opens and validates a model: every expected tensor present with the expected shape and a type
  /// lagvk can use. Errors name the file, the tensor and what was expected.
  [[nodiscard]] static Model open(const std::string& path);
  [[nodiscard]] static Model from_gguf(GgufFile file);

  [[nodiscard]] const GgufFile& gguf() const { return file_; }
  [[nodiscard]] const ModelConfig& config() const { return config_; }
  [[nodiscard]] const ModelWeights& weights() const { return weights_; }
  /// Any tensor by name (including ones the model does not use); fails when absent.
  [[nodiscard]] TensorView tensor(std::string_view name) const;

 private:
  Model(GgufFile file, ModelConfig config);
  void bind_weights();

  GgufFile file_;
  ModelConfig config_;
  ModelWeights weights_;
};

}  // namespace lagvk
