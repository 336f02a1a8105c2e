#pragma once
// The CPU reference forward pass: the ground truth that the GPU forward pass and llama.cpp are judged
// against. Weights are dequantized to float once; every step uses the plain ops of engine/ref/ops.hpp
// in the order llama.cpp's graph uses them. Obviousness over speed.
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/model/model_config.hpp"

namespace lagvk {
class Model;
}

namespace lagvk::ref {

class RefModel {
 public:
  /// Dequantizes all weights of `model` (the Model may be destroyed afterwards). `context` picks phi3's
  /// long or short RoPE factors as the GPU side does (0: the model's training context).
  explicit RefModel(const Model& model, std::uint32_t context = 0);

  [[nodiscard]] const ModelConfig& config() const { return config_; }
  /// Tokens already in the KV cache; the next token is at this position.
  [[nodiscard]] std::size_t n_past() const { return n_past_; }

  /// Appends tokens at positions n_past() .. n_past() + tokens.size() - 1 and returns their logits
  /// (tokens.size() x n_vocab, row-major). Works for a whole prompt (prefill) or one token (decode).
  /// Fails on token ids outside the vocabulary.
  [[nodiscard]] std::vector<float> forward(std::span<const std::int32_t> tokens);
  /// forward() from input embeddings (rows of n_embd: what the token embedding table holds for a token,
  /// before any scaling the model applies to its inputs) instead of token ids.
  [[nodiscard]] std::vector<float> forward_embeddings(std::span<const float> embeddings);
  /// forward_embeddings() up to the final norm: the normalised hidden states the output projection would
  /// read (rows x n_embd); what a cache-augmentation coprocessor hands to its decoder as latents.
  [[nodiscard]] std::vector<float> hidden_states(std::span<const float> embeddings);
  /// Replaces this model's KV cache with a copy of `decoder`'s (same layers and KV width): a coprocessor
  /// then attends to the decoder's keys and values as its prefix, its own entries following them.
  void share_cache(const RefModel& decoder);

  /// Encoder models (bert): the final hidden states of `tokens` (tokens.size() x n_embd, row-major), every
  /// token attending to every other; token type 0 and positions 0.. as llama.cpp feeds a single text.
  /// Hook names as forward()'s where the step exists ("inp_embd" after the embedding LayerNorm,
  /// "blk.N.attn_out_norm", "blk.N.ffn_act" = gelu(up), "blk.N.l_out" after the output LayerNorm).
  [[nodiscard]] std::vector<float> encode(std::span<const std::int32_t> tokens) const;
  /// encode() pooled as the file's pooling_type says (not normalised).
  [[nodiscard]] std::vector<float> embed(std::span<const std::int32_t> tokens) const;

  /// Empties the KV cache.
  void reset();

  /// Called with every intermediate activation of forward(), for finding where another implementation
  /// starts to differ. Names follow llama.cpp's graph: "inp_embd", "blk.N.attn_norm", "blk.N.q", "blk.N.k"
  /// (after bias, q/k norm and RoPE), "blk.N.v", "blk.N.kqv_out" (attention before the output
  /// projection), "blk.N.attn_out", "blk.N.ffn_inp" (residual after attention), "blk.N.ffn_norm",
  /// "blk.N.ffn_act" (silu(gate) * up), "blk.N.ffn_out", "blk.N.l_out" (residual after the block),
  /// "result_norm", "result_output". Values are tokens x width, row-major.
  using ActivationHook = std::function<void(std::string_view name, std::span<const float> values)>;
  void set_activation_hook(ActivationHook hook) { hook_ = std::move(hook); }

 private:
  struct Layer {
    std::vector<float> attn_norm, wq, wk, wv, wo, bq, bk, bv, q_norm, k_norm;
    std::vector<float> ffn_norm, ffn_gate, ffn_up, ffn_down;
    std::vector<float> attn_post_norm, ffn_post_norm;                                           ///< gemma
    std::vector<float> bo, b_up, b_down, attn_out_norm, attn_out_norm_b, out_norm, out_norm_b;  ///< encoders
    std::vector<float> k_cache, v_cache;  ///< n_past x kv_dim each, RoPE already applied to keys
  };

  void check_decoder() const;
  /// The decoder blocks over input embeddings x (rows x n_embd), appended at n_past(): the final
  /// normalised hidden states.
  [[nodiscard]] std::vector<float> decode(std::vector<float> x);
  /// The output projection (and soft cap) of normalised hidden states.
  [[nodiscard]] std::vector<float> logits(std::span<const float> h) const;

  ModelConfig config_;
  std::vector<float> token_embd_, output_norm_, output_, rope_freqs_;
  std::vector<float> position_embd_, token_type0_, embd_norm_, embd_norm_b_;  ///< encoders
  std::vector<Layer> layers_;
  std::size_t n_past_ = 0;
  ActivationHook hook_;
};

}  // namespace lagvk::ref
