#pragma once
// A model's hyper-parameters and architecture switches, read from GGUF metadata. Architectures differ
// only by data in one table (ArchTraits), so the forward passes need no per-architecture code paths.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ref/ops.hpp"

namespace lagvk {

class GgufFile;

/// How a transformer block is laid out: the decoder family (pre-norm RMSNorm, RoPE, SwiGLU FFN, causal
/// attention, a language-model head) or the BERT encoder family (token + learned position + token-type
/// embeddings with a LayerNorm, post-norm LayerNorm with biases after attention and after the FFN, biases on
/// every projection, GELU FFN without a gate, bidirectional attention, no RoPE, pooled embeddings out).
enum class BlockLayout { decoder, bert_encoder };

/// The gated feed-forward's activation: silu(gate) * up (SwiGLU) or gelu(gate) * up (GeGLU, gemma).
enum class FfnActivation { silu, gelu };

/// What distinguishes one supported architecture from another.
struct ArchTraits {
  std::string_view name;    ///< general.architecture
  BlockLayout layout;       ///< decoder or encoder; the switches below refine a decoder
  ref::RopeMode rope_mode;  ///< normal for llama (llama.cpp's converter permutes Q/K), neox for qwen
  bool qkv_bias;            ///< attn_q/k/v have .bias tensors (qwen2; every projection of an encoder)
  bool qk_norm;             ///< per-head RMS norm of q and k before RoPE (qwen3, gemma3)
  // Gemma's differences from llama. GGUF files hold gemma's norm weights with the 1 of its (1 + w)
  // convention already added by llama.cpp's converter, so every norm is a plain RMSNorm here.
  FfnActivation ffn_activation = FfnActivation::silu;
  bool scale_embeddings = false;  ///< token embeddings times sqrt(n_embd) (gemma)
  bool post_norms = false;        ///< RMSNorm of attention's and the FFN's outputs before each residual add
  /// Sliding-window layers: every layer except each swa_period-th one (layer l slides unless
  /// l % swa_period == swa_period - 1; gemma2 2, gemma3 6), when the file gives a window; 0 for none.
  std::uint32_t swa_period = 0;
  bool logit_softcaps = false;   ///< attention and final logit soft-capping (gemma2)
  bool tied_embeddings = false;  ///< files store no output.weight: logits use token_embd (gemma2)
  float swa_rope_base = 0.0f;    ///< the RoPE base of sliding-window layers (gemma3: 10000), 0: the file's
  // phi3: one attn_qkv tensor holds q, k and v (rows in that order), one ffn_up tensor the gate and up
  // halves of the feed-forward (gate first); lagvk splits them by rows when it opens the file.
  bool fused_qkv = false;
  bool fused_gate_up = false;
  // Encoders: bert adds learned position embeddings and biases every projection, with a GELU feed-
  // forward; nomic-bert rotates q and k (RoPE) instead of learned positions, has one attn_qkv tensor
  // (fused_qkv), no biases (qkv_bias false) and a SwiGLU feed-forward (ffn_gate).
  bool learned_positions = false;
  bool gated_encoder_ffn = false;
  /// Query scaling 1/sqrt(n_embd / n_head) instead of 1/sqrt(head_dim) for files with this many layers
  /// (gemma's 27B models, whose query_pre_attn_scalar is n_embd / n_head; llama.cpp names the size by
  /// the layer count); 0 for none.
  std::uint32_t embd_per_head_scale_layers = 0;

  /// An embedding model: it produces pooled sentence vectors, not next-token logits.
  [[nodiscard]] bool embedding_only() const { return layout == BlockLayout::bert_encoder; }
};

/// The traits of a supported architecture; fails naming it and listing the supported ones.
[[nodiscard]] const ArchTraits& arch_traits(std::string_view arch);
/// "llama, qwen2, qwen3, bert"
[[nodiscard]] std::string supported_architectures();

/// The largest head dimension lagvk's attention kernel handles (shaders/attention.comp: MAX_HEAD_DIM).
inline constexpr std::uint32_t kMaxSupportedHeadDim = 512;

enum class RopeScaling { none, linear, yarn, llama3 };

/// How token vectors become one sentence vector ({arch}.pooling_type, numbered as llama.cpp numbers them).
enum class Pooling : std::uint32_t { none = 0, mean = 1, cls = 2, last = 3, rank = 4 };

/// "mean", "cls", ...
[[nodiscard]] std::string_view pooling_name(Pooling p);

struct ModelConfig {
  std::string arch;
  ArchTraits traits{};
  std::string name;  ///< general.name, or empty

  std::uint32_t n_layers = 0;
  std::uint32_t n_embd = 0;     ///< model (residual) width
  std::uint32_t n_ff = 0;       ///< FFN hidden width
  std::uint32_t n_head = 0;     ///< query heads
  std::uint32_t n_head_kv = 0;  ///< key/value heads (GQA when < n_head)
  std::uint32_t head_dim = 0;   ///< key_length, default n_embd / n_head
  std::uint32_t value_dim = 0;  ///< value_length, default head_dim
  std::uint32_t n_vocab = 0;
  std::uint32_t n_ctx_train = 0;    ///< context_length
  float rms_eps = 1e-5f;            ///< attention.layer_norm_rms_epsilon (decoders)
  float layer_norm_eps = 0.0f;      ///< attention.layer_norm_epsilon (encoders' LayerNorm)
  Pooling pooling = Pooling::none;  ///< pooling_type, none when the file does not say
  std::uint32_t n_token_types = 0;  ///< rows of token_types.weight (encoders; type 0 is used)

  float rope_freq_base = 10000.0f;
  std::uint32_t rope_dims = 0;  ///< rope.dimension_count (rotated leading dims of each head)
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_scaling_factor = 1.0f;
  std::uint32_t rope_scaling_orig_ctx = 0;

  std::uint32_t sliding_window = 0;  ///< attention.sliding_window for the traits' sliding layers; 0: none
  float attn_softcap = 0.0f;         ///< attn_logit_softcapping (0: none)
  float final_softcap = 0.0f;        ///< final_logit_softcapping (0: none)
  float attn_scale = 0.0f;           ///< the factor of q . k (1/sqrt(head_dim) unless the traits say else)

  bool tied_output = false;     ///< output.weight absent: logits use token_embd
  bool has_rope_freqs = false;  ///< rope_freqs.weight present (llama3 per-pair frequency divisors)
  /// rope_factors_long.weight and rope_factors_short.weight present (phi3's LongRoPE): per-pair frequency
  /// divisors, the long ones for contexts beyond rope_original_context()
  bool has_longrope = false;
  /// rope.scaling.attn_factor: multiplies the rotated queries and keys (phi3's LongRoPE), 1 for none
  float rope_attn_factor = 1.0f;

  /// rope.scaling.original_context_length, or the training context when the file does not give one.
  [[nodiscard]] std::uint32_t rope_original_context() const {
    return rope_scaling_orig_ctx ? rope_scaling_orig_ctx : n_ctx_train;
  }

  [[nodiscard]] std::uint32_t q_dim() const { return n_head * head_dim; }
  [[nodiscard]] std::uint32_t kv_dim() const { return n_head_kv * head_dim; }
  /// Whether layer `layer` attends through the sliding window.
  [[nodiscard]] bool is_sliding(std::uint32_t layer) const {
    return sliding_window > 0 && traits.swa_period > 0 && layer % traits.swa_period != traits.swa_period - 1;
  }
  /// RoPE parameters of one layer (sliding-window layers may have their own base and no scaling).
  [[nodiscard]] ref::RopeParams rope_params(std::uint32_t layer) const;
  /// RoPE parameters for the CPU reference (freq_factors left empty: the caller supplies them).
  [[nodiscard]] ref::RopeParams rope_params() const;
};

/// Reads and checks the hyper-parameters (values must be positive and consistent). Tensor presence
/// decides tied_output and has_rope_freqs.
[[nodiscard]] ModelConfig read_model_config(const GgufFile& file);

}  // namespace lagvk
