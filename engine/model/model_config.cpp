#include "engine/model/model_config.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"

namespace lagvk {
namespace {

constexpr std::array<ArchTraits, 8> kArchitectures = {{
    {"llama", BlockLayout::decoder, ref::RopeMode::normal, false, false},
    {"qwen2", BlockLayout::decoder, ref::RopeMode::neox, true, false},
    {"qwen3", BlockLayout::decoder, ref::RopeMode::neox, false, true},
    {.name = "bert",
     .layout = BlockLayout::bert_encoder,
     .rope_mode = ref::RopeMode::normal,
     .qkv_bias = true,
     .qk_norm = false,
     .learned_positions = true},
    // nomic-embed-text: llama.cpp rotates its queries and keys as NEOX does.
    {.name = "nomic-bert",
     .layout = BlockLayout::bert_encoder,
     .rope_mode = ref::RopeMode::neox,
     .qkv_bias = false,
     .qk_norm = false,
     .fused_qkv = true,
     .gated_encoder_ffn = true},
    {.name = "gemma2",
     .layout = BlockLayout::decoder,
     .rope_mode = ref::RopeMode::neox,
     .qkv_bias = false,
     .qk_norm = false,
     .ffn_activation = FfnActivation::gelu,
     .scale_embeddings = true,
     .post_norms = true,
     .swa_period = 2,
     .logit_softcaps = true,
     .tied_embeddings = true,
     .embd_per_head_scale_layers = 46},
    // gemma3 (text): gemma2 without soft caps, with q/k norms; five sliding-window layers (RoPE base 10000,
    // unscaled) to one global layer (the file's base and scaling).
    {.name = "gemma3",
     .layout = BlockLayout::decoder,
     .rope_mode = ref::RopeMode::neox,
     .qkv_bias = false,
     .qk_norm = true,
     .ffn_activation = FfnActivation::gelu,
     .scale_embeddings = true,
     .post_norms = true,
     .swa_period = 6,
     .tied_embeddings = true,
     .swa_rope_base = 10000.0f,
     .embd_per_head_scale_layers = 62},
    // phi3's attention.sliding_window is not applied: llama.cpp disables it (the converters do not describe
    // which layers slide), and lagvk runs files as llama.cpp does.
    {.name = "phi3",
     .layout = BlockLayout::decoder,
     .rope_mode = ref::RopeMode::neox,
     .qkv_bias = false,
     .qk_norm = false,
     .fused_qkv = true,
     .fused_gate_up = true},
}};

// llama.cpp's defaults for gemma2 files that omit these keys (the values of the released models).
constexpr std::uint32_t kGemma2DefaultWindow = 4096;
constexpr float kGemma2DefaultAttnSoftcap = 50.0f;
constexpr float kGemma2DefaultFinalSoftcap = 30.0f;

// Limits of what lagvk runs, checked here so that a file beyond them is refused before any memory is
// allocated (the GPU kernels index with 32-bit integers and size their buffers from these widths).
constexpr std::uint64_t kMaxWidth = 1u << 20;  ///< embedding, feed-forward, q and kv widths
constexpr std::uint64_t kMaxVocab = 1u << 24;  ///< token ids are int32; logits are one row of floats

void expect_finite_positive(const GgufFile& f, const std::string& key, float v) {
  if (!std::isfinite(v) || v <= 0.0f)
    fail(Errc::bad_model_file, "'{}': {} = {} must be a finite positive number; the file is corrupt",
         f.path(), key, v);
}

void expect_at_most(const GgufFile& f, std::string_view what, std::uint64_t v, std::uint64_t limit) {
  if (v > limit)
    fail(Errc::bad_model_file, "'{}': {} {} exceeds the {} lagvk supports; the file is corrupt", f.path(),
         what, v, limit);
}

}  // namespace

std::string supported_architectures() {
  std::string s;
  for (const auto& a : kArchitectures) {
    if (!s.empty()) s += ", ";
    s += a.name;
  }
  return s;
}

std::string_view pooling_name(Pooling p) {
  switch (p) {
    case Pooling::none:
      return "none";
    case Pooling::mean:
      return "mean";
    case Pooling::cls:
      return "cls";
    case Pooling::last:
      return "last";
    case Pooling::rank:
      return "rank";
  }
  return "unknown";
}

const ArchTraits& arch_traits(std::string_view arch) {
  for (const auto& a : kArchitectures)
    if (a.name == arch) return a;
  fail(Errc::unsupported_model, "model architecture '{}' is not supported (supported: {})", arch,
       supported_architectures());
}

ref::RopeParams ModelConfig::rope_params() const {
  ref::RopeParams p;
  p.mode = traits.rope_mode;
  p.rot_dims = rope_dims;
  p.freq_base = rope_freq_base;
  // Linear scaling stretches positions; llama3 scaling is carried by rope_freqs.weight instead, and
  // YaRN is not implemented (rejected in read_model_config).
  p.freq_scale = rope_scaling == RopeScaling::linear ? 1.0f / rope_scaling_factor : 1.0f;
  return p;
}

ref::RopeParams ModelConfig::rope_params(std::uint32_t layer) const {
  ref::RopeParams p = rope_params();
  if (is_sliding(layer) && traits.swa_rope_base > 0.0f) {
    p.freq_base = traits.swa_rope_base;
    p.freq_scale = 1.0f;
  }
  return p;
}

namespace {

/// Sliding window, soft caps and the query scale: what gemma adds to a decoder's hyper-parameters.
void read_attention_shaping(const GgufFile& f, const std::string& p, ModelConfig& c) {
  c.attn_scale = 1.0f / std::sqrt(float(c.head_dim));
  if (c.traits.embd_per_head_scale_layers != 0 && c.n_layers == c.traits.embd_per_head_scale_layers)
    c.attn_scale = 1.0f / std::sqrt(float(c.n_embd / c.n_head));
  if (c.traits.swa_period > 0) {
    // gemma2 files without the key get llama.cpp's default; gemma3 files without it (or with 0) have no
    // sliding-window layers, as llama.cpp reads them.
    const bool gemma2 = c.traits.logit_softcaps;
    c.sliding_window =
        f.get_u32_opt(p + "attention.sliding_window").value_or(gemma2 ? kGemma2DefaultWindow : 0);
  }
  if (c.traits.logit_softcaps) {
    c.attn_softcap = f.get_f32_opt(p + "attn_logit_softcapping").value_or(kGemma2DefaultAttnSoftcap);
    c.final_softcap = f.get_f32_opt(p + "final_logit_softcapping").value_or(kGemma2DefaultFinalSoftcap);
    expect_finite_positive(f, p + "attn_logit_softcapping", c.attn_softcap);
    expect_finite_positive(f, p + "final_logit_softcapping", c.final_softcap);
  }
}

/// phi3's LongRoPE: long and short factor tensors and the attention factor. The factor multiplies the
/// rotated queries and keys, so it scales every score by its square when all dimensions rotate: lagvk
/// folds it into attn_scale (keys stay unscaled in the cache and the log store).
void read_longrope(const GgufFile& f, const std::string& p, ModelConfig& c) {
  const bool has_long = f.find_tensor("rope_factors_long.weight") != nullptr;
  const bool has_short = f.find_tensor("rope_factors_short.weight") != nullptr;
  if (has_long != has_short)
    fail(Errc::bad_model_file, "'{}' has only one of rope_factors_long.weight and rope_factors_short.weight",
         f.path());
  c.has_longrope = has_long;
  if (c.has_longrope && c.has_rope_freqs)
    fail(Errc::bad_model_file, "'{}' has both rope_freqs.weight and LongRoPE factors; the file is corrupt",
         f.path());
  c.rope_attn_factor = f.get_f32_opt(p + "rope.scaling.attn_factor").value_or(1.0f);
  expect_finite_positive(f, p + "rope.scaling.attn_factor", c.rope_attn_factor);
  if (c.rope_attn_factor == 1.0f) return;
  if (c.rope_dims != c.head_dim)
    fail(Errc::unsupported_model,
         "'{}': rope.scaling.attn_factor with partial rotation (rope.dimension_count {} of {}) is not "
         "supported yet",
         f.path(), c.rope_dims, c.head_dim);
  c.attn_scale *= c.rope_attn_factor * c.rope_attn_factor;
}

}  // namespace

ModelConfig read_model_config(const GgufFile& f) {
  ModelConfig c;
  c.arch = f.get_string("general.architecture");
  c.traits = arch_traits(c.arch);
  c.name = f.get_string_opt("general.name").value_or("");
  const std::string p = c.arch + ".";
  c.n_layers = f.get_u32(p + "block_count");
  c.n_embd = f.get_u32(p + "embedding_length");
  c.n_ff = f.get_u32(p + "feed_forward_length");
  c.n_head = f.get_u32(p + "attention.head_count");
  c.n_head_kv = f.get_u32_opt(p + "attention.head_count_kv").value_or(c.n_head);
  if (c.traits.layout == BlockLayout::decoder) {
    c.rms_eps = f.get_f32(p + "attention.layer_norm_rms_epsilon");
    expect_finite_positive(f, p + "attention.layer_norm_rms_epsilon", c.rms_eps);
  } else {
    c.layer_norm_eps = f.get_f32(p + "attention.layer_norm_epsilon");
    expect_finite_positive(f, p + "attention.layer_norm_epsilon", c.layer_norm_eps);
  }
  const std::uint32_t pooling = f.get_u32_opt(p + "pooling_type").value_or(0);
  if (pooling > std::uint32_t(Pooling::rank))
    fail(Errc::bad_model_file, "'{}': {}pooling_type {} is not a pooling type llama.cpp defines (0-4)",
         f.path(), p, pooling);
  c.pooling = Pooling(pooling);
  c.n_ctx_train = f.get_u32(p + "context_length");
  c.rope_freq_base = f.get_f32_opt(p + "rope.freq_base").value_or(10000.0f);

  if (c.n_layers == 0 || c.n_embd == 0 || c.n_ff == 0 || c.n_head == 0 || c.n_head_kv == 0)
    fail(Errc::bad_model_file, "'{}': layer count, widths and head counts must be positive", f.path());
  expect_finite_positive(f, p + "rope.freq_base", c.rope_freq_base);
  expect_at_most(f, "embedding_length", c.n_embd, kMaxWidth);
  expect_at_most(f, "feed_forward_length", c.n_ff, kMaxWidth);
  // Every block has at least 9 tensors (2 norms, 4 attention and 3 feed-forward matrices), fewer when
  // some are fused.
  const std::uint64_t per_layer = 9 - (c.traits.fused_qkv ? 2 : 0) - (c.traits.fused_gate_up ? 1 : 0);
  if (std::uint64_t(c.n_layers) * per_layer > f.tensors().size())
    fail(Errc::bad_model_file,
         "'{}': block_count {} needs at least {} tensors but the file holds {}; the file is corrupt",
         f.path(), c.n_layers, std::uint64_t(c.n_layers) * per_layer, f.tensors().size());
  if (c.n_head % c.n_head_kv != 0)
    fail(Errc::bad_model_file, "'{}': {} query heads cannot be grouped over {} key/value heads", f.path(),
         c.n_head, c.n_head_kv);
  if (c.n_embd % c.n_head != 0 && !f.has(p + "attention.key_length"))
    fail(Errc::bad_model_file, "'{}': embedding_length {} is not a multiple of head_count {}", f.path(),
         c.n_embd, c.n_head);
  c.head_dim = f.get_u32_opt(p + "attention.key_length").value_or(c.n_embd / c.n_head);
  c.value_dim = f.get_u32_opt(p + "attention.value_length").value_or(c.head_dim);
  if (c.head_dim == 0 || c.head_dim % 2 != 0)
    fail(Errc::bad_model_file, "'{}': head dimension {} must be positive and even", f.path(), c.head_dim);
  if (c.head_dim > kMaxSupportedHeadDim)
    fail(Errc::unsupported_model, "'{}': head dimension {} exceeds the {} lagvk's attention kernel supports",
         f.path(), c.head_dim, kMaxSupportedHeadDim);
  // q_dim() and kv_dim() are 32-bit products: bound them in 64 bits first.
  expect_at_most(f, "query width (head_count x head dimension)", std::uint64_t(c.n_head) * c.head_dim,
                 kMaxWidth);
  expect_at_most(f, "key/value width (head_count_kv x head dimension)",
                 std::uint64_t(c.n_head_kv) * c.head_dim, kMaxWidth);
  if (c.value_dim != c.head_dim)
    fail(Errc::unsupported_model,
         "'{}': value_length {} differs from key_length {}, which lagvk does not support", f.path(),
         c.value_dim, c.head_dim);
  c.rope_dims = f.get_u32_opt(p + "rope.dimension_count").value_or(c.head_dim);
  if (c.rope_dims == 0 || c.rope_dims > c.head_dim || c.rope_dims % 2 != 0)
    fail(Errc::bad_model_file, "'{}': rope.dimension_count {} must be even and at most the head dimension {}",
         f.path(), c.rope_dims, c.head_dim);

  if (const auto type = f.get_string_opt(p + "rope.scaling.type")) {
    if (*type == "none") {
      c.rope_scaling = RopeScaling::none;
    } else if (*type == "linear") {
      c.rope_scaling = RopeScaling::linear;
    } else if (*type == "yarn") {
      c.rope_scaling = RopeScaling::yarn;
    } else if (*type == "llama3") {
      c.rope_scaling = RopeScaling::llama3;
    } else {
      fail(Errc::unsupported_model, "'{}': rope scaling '{}' is not supported (none, linear, llama3)",
           f.path(), *type);
    }
  }
  c.rope_scaling_factor = f.get_f32_opt(p + "rope.scaling.factor").value_or(1.0f);
  if (c.rope_scaling == RopeScaling::none && c.rope_scaling_factor != 1.0f && c.rope_scaling_factor > 0.0f)
    c.rope_scaling = RopeScaling::linear;  // llama.cpp treats a bare factor as linear scaling
  if (!(c.rope_scaling_factor > 0.0f) || !std::isfinite(c.rope_scaling_factor))
    fail(Errc::bad_model_file, "'{}': rope.scaling.factor must be a finite positive number", f.path());
  c.rope_scaling_orig_ctx = f.get_u32_opt(p + "rope.scaling.original_context_length").value_or(0);
  if (c.rope_scaling == RopeScaling::yarn)
    fail(Errc::unsupported_model,
         "'{}': YaRN rope scaling is not supported yet; use a model without rope.scaling.type=yarn",
         f.path());

  read_attention_shaping(f, p, c);

  const auto* embd = f.find_tensor("token_embd.weight");
  if (!embd) fail(Errc::bad_model_file, "'{}' lacks the tensor token_embd.weight", f.path());
  if (embd->dims.size() != 2)
    fail(Errc::bad_model_file, "'{}': token_embd.weight should have 2 dimensions, not {}", f.path(),
         embd->dims.size());
  expect_at_most(f, "token_embd.weight rows", embd->dims[1], kMaxVocab);
  c.n_vocab = f.get_u32_opt(p + "vocab_size").value_or(std::uint32_t(embd->dims[1]));
  if (c.n_vocab == 0) fail(Errc::bad_model_file, "'{}': the vocabulary is empty", f.path());
  // Every row of the embedding and the logits needs a token, and every token a row: a smaller tokenizer
  // cannot decode what the model samples, a larger one encodes ids the embedding lacks.
  if (f.has("tokenizer.ggml.tokens")) {
    const std::size_t tokens = f.get_array_size("tokenizer.ggml.tokens");
    if (tokens != c.n_vocab)
      fail(Errc::bad_model_file,
           "'{}': the tokenizer has {} tokens but the model's vocabulary has {}; the file is corrupt or "
           "mismatched",
           f.path(), tokens, c.n_vocab);
  }
  if (const auto* types = f.find_tensor("token_types.weight"); types && types->dims.size() == 2)
    c.n_token_types = std::uint32_t(std::min<std::uint64_t>(types->dims[1], kMaxVocab));
  c.tied_output = f.find_tensor("output.weight") == nullptr;
  c.has_rope_freqs = f.find_tensor("rope_freqs.weight") != nullptr;
  read_longrope(f, p, c);
  return c;
}

}  // namespace lagvk
