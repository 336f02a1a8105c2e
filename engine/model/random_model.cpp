#include "engine/model/random_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <span>

#include "engine/core/error.hpp"
#include "engine/model/model_config.hpp"
#include "engine/model/quant.hpp"
#include "engine/model/synthetic_vocab.hpp"

namespace lagvk {
namespace {

/// Platform-independent random numbers: std::mt19937_64 is specified bit for bit, the standard
/// distributions are not, so the conversions to uniform and normal values are written out here.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }
  /// Approximately standard normal: the sum of 12 uniforms minus 6 (mean 0, variance 1, within +-6).
  /// Only additions, so every IEEE platform gets the same bits, which log/cos (Box-Muller) do not promise.
  double normal() {
    double sum = 0.0;
    for (int i = 0; i < 12; ++i) sum += uniform();
    return sum - 6.0;
  }

 private:
  std::mt19937_64 engine_;
};

std::vector<float> normal_values(Rng& rng, std::size_t n, double mean, double stddev) {
  std::vector<float> v(n);
  for (auto& x : v) x = float(mean + stddev * rng.normal());
  return v;
}

std::vector<std::uint8_t> f32_bytes(std::span<const float> v) {
  std::vector<std::uint8_t> out(v.size_bytes());
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

/// llama3-style RoPE frequency divisors (factor 8, low/high frequency factors 1 and 4, original context
/// 8192): 1 for short wavelengths, 8 for long ones, smoothly interpolated between.
std::vector<float> llama3_rope_factors(std::uint32_t rope_dims, float freq_base) {
  constexpr double factor = 8.0, low = 1.0, high = 4.0, orig_ctx = 8192.0;
  const double low_wavelen = orig_ctx / low, high_wavelen = orig_ctx / high;
  std::vector<float> out(rope_dims / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double freq = std::pow(double(freq_base), -2.0 * double(i) / double(rope_dims));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      out[i] = 1.0f;
    } else if (wavelen > low_wavelen) {
      out[i] = float(factor);
    } else {
      const double smooth = (orig_ctx / wavelen - low) / (high - low);
      out[i] = float(1.0 / ((1.0 - smooth) / factor + smooth));
    }
  }
  return out;
}

std::vector<float> checked_weights(const RandomModelSpec& s, const std::string& name, std::size_t count) {
  auto v = s.weights(name, count);
  if (v.size() != count)
    fail(Errc::bad_input, "tensor {}: the weights give {} values, the model needs {}", name, v.size(), count);
  return v;
}

/// A WordPiece vocabulary of exactly `size` tokens as llama.cpp's converter writes BERT's: the five
/// control tokens, then each printable ASCII character as a word start ("\u2581c") and as a continuation
/// ("c"), then two-letter pieces of lower-case letters (both forms) until the size is reached.
void write_wordpiece_vocabulary(GgufWriter& w, std::uint32_t size) {
  static const std::string kStart = "\xE2\x96\x81";
  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  std::vector<std::int32_t> types(tokens.size(), std::int32_t(TokenType::control));
  auto add = [&](const std::string& piece) {
    for (const std::string& t : {kStart + piece, piece}) {
      if (tokens.size() == size) return;
      tokens.push_back(t);
      types.push_back(std::int32_t(TokenType::normal));
    }
  };
  for (char c = '!'; c <= '~'; ++c)
    if (c < 'A' || c > 'Z') add(std::string(1, c));  // text is lower-cased before lookup
  for (char a = 'a'; a <= 'z' && tokens.size() < size; ++a)
    for (char b = 'a'; b <= 'z' && tokens.size() < size; ++b) add(std::string{a, b});
  for (std::uint32_t i = 0; tokens.size() < size; ++i) add("w" + std::to_string(i));
  w.set_string("tokenizer.ggml.model", "bert");
  w.set_string("tokenizer.ggml.pre", "bert-bge");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.token_type_count", 2);
  w.set_u32("tokenizer.ggml.padding_token_id", 0);
  w.set_u32("tokenizer.ggml.unknown_token_id", 1);
  w.set_u32("tokenizer.ggml.bos_token_id", 2);
  w.set_u32("tokenizer.ggml.cls_token_id", 2);
  w.set_u32("tokenizer.ggml.eos_token_id", 3);
  w.set_u32("tokenizer.ggml.seperator_token_id", 3);  // sic: gguf-py's key
  w.set_u32("tokenizer.ggml.mask_token_id", 4);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", true);
  w.set_bool("tokenizer.ggml.normalizer.lowercase", true);
}

/// A BERT-family encoder (BlockLayout::bert_encoder) with llama.cpp's tensor names: post-norm LayerNorm
/// blocks, token types, the spec's pooling; bert with biases everywhere and learned positions, nomic-bert
/// with RoPE (base 1000, as nomic-embed-text), one attn_qkv tensor, no biases and a SwiGLU feed-forward.
GgufWriter make_random_bert(const RandomModelSpec& s) {
  const bool nomic = s.arch == "nomic-bert";
  if (s.n_head_kv != s.n_head)
    fail(Errc::invalid_argument, "a bert model has as many key/value heads as query heads ({}), not {}",
         s.n_head, s.n_head_kv);
  if (s.pooling != Pooling::mean && s.pooling != Pooling::cls)
    fail(Errc::invalid_argument, "a random bert model pools with mean or cls, not {}",
         pooling_name(s.pooling));
  if (s.tied_output || s.rope_factors || !s.words.empty() || s.weights)
    fail(Errc::invalid_argument,
         "a bert model has no output, rope factors, word vocabulary or trained weights");
  const std::uint32_t dim = s.n_embd, ff = s.n_ff;
  Rng rng(s.seed);
  GgufWriter w;
  const std::string a = s.arch + ".";
  w.set_string("general.architecture", s.arch);
  w.set_string("general.name", s.name.empty() ? fmt::format("lagvk-random-{}-{}L-{}d-{}", s.arch, s.n_layers,
                                                            dim, ggml_type_name(s.type))
                                              : s.name);
  w.set_u32("general.file_type", llama_file_type(s.type));
  w.set_u32(a + "block_count", s.n_layers);
  w.set_u32(a + "context_length", s.n_ctx);
  w.set_u32(a + "embedding_length", dim);
  w.set_u32(a + "feed_forward_length", ff);
  w.set_u32(a + "attention.head_count", s.n_head);
  w.set_f32(a + "attention.layer_norm_epsilon", 1e-12f);
  w.set_bool(a + "attention.causal", false);
  w.set_u32(a + "pooling_type", std::uint32_t(s.pooling));
  if (nomic) w.set_f32(a + "rope.freq_base", 1000.0f);
  write_wordpiece_vocabulary(w, s.n_vocab);

  const double in_gain = 1.0 / std::sqrt(double(dim)), ff_gain = 1.0 / std::sqrt(double(ff));
  auto matrix = [&](const std::string& name, std::uint32_t in, std::uint32_t out, double stddev) {
    w.add_tensor(name, {in, out}, s.type,
                 quantize(s.type, normal_values(rng, std::size_t(in) * out, 0.0, stddev)));
  };
  auto vector = [&](const std::string& name, std::uint32_t n, double mean, double stddev) {
    w.add_tensor(name, {n}, GgmlType::f32, f32_bytes(normal_values(rng, n, mean, stddev)));
  };
  auto f32_matrix = [&](const std::string& name, std::uint32_t in, std::uint32_t out, double stddev) {
    w.add_tensor(name, {in, out}, GgmlType::f32,
                 f32_bytes(normal_values(rng, std::size_t(in) * out, 0.0, stddev)));
  };
  matrix("token_embd.weight", dim, s.n_vocab, 1.0);
  if (!nomic) f32_matrix("position_embd.weight", dim, s.n_ctx, 0.5);
  f32_matrix("token_types.weight", dim, 2, 0.5);
  vector("token_embd_norm.weight", dim, 1.0, 0.1);
  vector("token_embd_norm.bias", dim, 0.0, 0.1);
  for (std::uint32_t i = 0; i < s.n_layers; ++i) {
    const std::string b = fmt::format("blk.{}.", i);
    if (nomic) {
      matrix(b + "attn_qkv.weight", dim, 3 * dim, in_gain * 2.0);  // rows: q, then k, then v
    } else {
      for (const char* m : {"attn_q", "attn_k", "attn_v"}) {
        matrix(b + m + ".weight", dim, dim, in_gain * 2.0);  // sharper attention than a plain average
        vector(b + m + ".bias", dim, 0.0, 0.1);
      }
    }
    matrix(b + "attn_output.weight", dim, dim, in_gain);
    if (!nomic) vector(b + "attn_output.bias", dim, 0.0, 0.1);
    vector(b + "attn_output_norm.weight", dim, 1.0, 0.1);
    vector(b + "attn_output_norm.bias", dim, 0.0, 0.1);
    matrix(b + "ffn_up.weight", dim, ff, in_gain * 2.0);
    if (nomic) matrix(b + "ffn_gate.weight", dim, ff, in_gain * 2.0);
    if (!nomic) vector(b + "ffn_up.bias", ff, 0.0, 0.1);
    matrix(b + "ffn_down.weight", ff, dim, ff_gain);
    if (!nomic) vector(b + "ffn_down.bias", dim, 0.0, 0.1);
    vector(b + "layer_output_norm.weight", dim, 1.0, 0.1);
    vector(b + "layer_output_norm.bias", dim, 0.0, 0.1);
  }
  return w;
}

/// A family's chat control tokens in place of the vocabulary's last (least likely) pieces: llama.cpp refuses
/// a phi3 vocabulary without "<|endoftext|>", and chat prompts need the turn markers of both families.
void add_control_tokens(Vocabulary& vocab, std::span<const char* const> tokens) {
  std::size_t id = vocab.tokens.size() - tokens.size();
  for (const char* token : tokens) {
    vocab.tokens[id] = token;
    vocab.types[id] = std::int32_t(TokenType::control);
    vocab.scores[id] = 0.0f;
    ++id;
  }
}

constexpr const char* kPhi3ControlTokens[] = {"<|endoftext|>", "<|assistant|>", "<|end|>", "<|system|>",
                                              "<|user|>"};
constexpr const char* kGemmaControlTokens[] = {"<start_of_turn>", "<end_of_turn>"};

}  // namespace

std::uint32_t llama_file_type(GgmlType type) {
  return type_info(type).llama_file_type;
}

std::uint32_t vocabulary_size(const RandomModelSpec& s) {
  return s.words.empty() ? s.n_vocab : std::uint32_t(make_word_vocab(s.words).tokens.size());
}

void validate(const RandomModelSpec& s) {
  (void)arch_traits(s.arch);
  if (s.n_layers == 0 || s.n_embd == 0 || s.n_head == 0 || s.n_head_kv == 0 || s.n_ff == 0 || s.n_ctx == 0)
    fail(Errc::invalid_argument,
         "a random model's layers, dimension, heads, kv heads, feed-forward size and context must all be "
         "positive");
  if (s.n_embd % s.n_head != 0)
    fail(Errc::invalid_argument, "a random model's dimension {} must be a multiple of its heads {}", s.n_embd,
         s.n_head);
  if ((s.n_embd / s.n_head) % 2 != 0)
    fail(Errc::invalid_argument, "a random model's head dimension (dimension / heads = {}) must be even",
         s.n_embd / s.n_head);
  if (s.n_head % s.n_head_kv != 0)
    fail(Errc::invalid_argument, "a random model's heads {} must be a multiple of its kv heads {}", s.n_head,
         s.n_head_kv);
  if (!can_quantize(s.type))
    fail(Errc::invalid_argument, "weight type {} is not supported for generated models (these are: {})",
         ggml_type_name(s.type), type_names(TypeList::writable_lower));
  const auto block = type_info(s.type).block_size;
  if (s.n_embd % block != 0 || s.n_ff % block != 0)
    fail(Errc::invalid_argument,
         "with weight type {} a random model's dimension ({}) and feed-forward size ({}) must be "
         "multiples of {}",
         ggml_type_name(s.type), s.n_embd, s.n_ff, block);
  if (!(s.rope_linear_factor > 0.0f) || !std::isfinite(s.rope_linear_factor))
    fail(Errc::invalid_argument, "a random model's linear RoPE factor must be a finite positive number");
  if (s.rope_factors && s.arch == "phi3" && s.rope_original_context < 2)
    fail(Errc::invalid_argument, "a random phi3 model's original context must be at least 2 tokens");
  if (arch_traits(s.arch).swa_period > 0 && s.sliding_window == 0)
    fail(Errc::invalid_argument, "a random {} model needs a sliding window of at least 1 token", s.arch);
  if (arch_traits(s.arch).logit_softcaps &&
      (!(s.attn_softcap > 0.0f) || !(s.final_softcap > 0.0f) || !std::isfinite(s.attn_softcap) ||
       !std::isfinite(s.final_softcap)))
    fail(Errc::invalid_argument, "a random {} model's logit soft caps must be finite positive numbers",
         s.arch);
  if (s.n_vocab < 260)
    fail(Errc::invalid_argument,
         "a random model's vocabulary of {} tokens is too small: it needs at least 260 (3 control tokens, "
         "256 byte tokens, one piece)",
         s.n_vocab);
  // The generator holds every tensor in memory before writing; refuse sizes no test or benchmark needs
  // before allocating anything.
  const double dim = s.n_embd, ff = s.n_ff, kv = double(s.n_head_kv) * (s.n_embd / s.n_head);
  const double params = double(s.n_vocab) * dim * (s.tied_output ? 1 : 2) +
                        double(s.n_layers) * (dim * dim * 2 + 2 * dim * kv + 3 * dim * ff);
  const auto& t = type_info(s.type);
  const double gib = params * double(t.bytes_per_block) / double(t.block_size) / double(1ull << 30);
  if (gib > 32.0)
    fail(Errc::invalid_argument,
         "the random model would take {:.1f} GiB; generated models are at most 32 GiB", gib);
}

GgufWriter make_random_model(const RandomModelSpec& s) {
  validate(s);
  const auto& traits = arch_traits(s.arch);
  if (traits.layout == BlockLayout::bert_encoder) return make_random_bert(s);
  const std::uint32_t head_dim = s.n_embd / s.n_head;
  const std::uint32_t q_dim = s.n_head * head_dim, kv_dim = s.n_head_kv * head_dim;
  Rng rng(s.seed);
  GgufWriter w;
  const std::string a = s.arch + ".";

  w.set_string("general.architecture", s.arch);
  w.set_string("general.name", s.name.empty() ? fmt::format("lagvk-random-{}-{}L-{}d-{}", s.arch, s.n_layers,
                                                            s.n_embd, ggml_type_name(s.type))
                                              : s.name);
  w.set_u32("general.file_type", llama_file_type(s.type));
  w.set_u32(a + "vocab_size", s.n_vocab);
  w.set_u32(a + "context_length", s.n_ctx);
  w.set_u32(a + "embedding_length", s.n_embd);
  w.set_u32(a + "block_count", s.n_layers);
  w.set_u32(a + "feed_forward_length", s.n_ff);
  w.set_u32(a + "attention.head_count", s.n_head);
  w.set_u32(a + "attention.head_count_kv", s.n_head_kv);
  w.set_f32(a + "attention.layer_norm_rms_epsilon", s.rms_eps);
  w.set_f32(a + "rope.freq_base", s.rope_freq_base);
  w.set_u32(a + "rope.dimension_count", head_dim);
  if (s.decoder_pooling != Pooling::none) w.set_u32(a + "pooling_type", std::uint32_t(s.decoder_pooling));
  if (s.rope_linear_factor != 1.0f) {
    w.set_string(a + "rope.scaling.type", "linear");
    w.set_f32(a + "rope.scaling.factor", s.rope_linear_factor);
  }
  if (traits.swa_period > 0 || s.arch == "phi3") w.set_u32(a + "attention.sliding_window", s.sliding_window);
  const bool longrope = s.rope_factors && s.arch == "phi3";
  if (longrope) {
    // Phi-3's converter writes the attention factor sqrt(1 + ln(ctx / original) / ln(original)).
    const double ratio = std::max(1.0, double(s.n_ctx) / double(s.rope_original_context));
    w.set_f32(a + "rope.scaling.attn_factor",
              float(std::sqrt(1.0 + std::log(ratio) / std::log(double(s.rope_original_context)))));
    w.set_u32(a + "rope.scaling.original_context_length", s.rope_original_context);
  }
  if (traits.logit_softcaps) {
    w.set_f32(a + "attn_logit_softcapping", s.attn_softcap);
    w.set_f32(a + "final_logit_softcapping", s.final_softcap);
  }

  auto vocab = s.words.empty() ? make_synthetic_vocab(s.n_vocab) : make_word_vocab(s.words);
  if (s.arch == "phi3") add_control_tokens(vocab, kPhi3ControlTokens);
  // gemma's SentencePiece vocabulary adds no leading space (add_space_prefix false in its GGUF files).
  const bool gemma = traits.scale_embeddings;
  if (gemma) add_control_tokens(vocab, kGemmaControlTokens);
  if (vocab.tokens.size() != s.n_vocab)
    fail(Errc::invalid_argument, "the word vocabulary has {} tokens but the model is declared with {}",
         vocab.tokens.size(), s.n_vocab);
  if (!s.words.empty() || gemma) w.set_bool("tokenizer.ggml.add_space_prefix", false);
  write_spm_vocabulary(w, vocab);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", false);

  // Scales. The final norm gives a unit-RMS vector; an output row with entries of standard deviation
  // logit_std / sqrt(n_embd) then gives logits of standard deviation logit_std, whose maximum stands
  // well clear of the rest. Projections into the residual stream use half the variance-preserving gain
  // so that each layer changes, but does not swamp, what the token embedding put there.
  const double in_gain = 1.0 / std::sqrt(double(s.n_embd));
  const double out_gain = 0.5 / std::sqrt(double(s.n_embd));
  const double ff_out_gain = 0.5 / std::sqrt(double(s.n_ff));
  const double logit_gain = double(s.logit_std) / std::sqrt(double(s.n_embd));

  auto matrix = [&](const std::string& name, std::uint32_t in, std::uint32_t out, double stddev) {
    const auto v = s.weights ? checked_weights(s, name, std::size_t(in) * out)
                             : normal_values(rng, std::size_t(in) * out, 0.0, stddev);
    w.add_tensor(name, {in, out}, s.type, quantize(s.type, v));
  };
  auto vector = [&](const std::string& name, std::uint32_t n, double mean, double stddev) {
    w.add_tensor(name, {n}, GgmlType::f32,
                 f32_bytes(s.weights ? checked_weights(s, name, n) : normal_values(rng, n, mean, stddev)));
  };

  // Tied models read logits from the embedding table, so it carries the logit scale; the input side
  // does not mind, because the first norm removes the scale again. gemma2 is always tied (llama.cpp
  // reads no output.weight for it).
  const bool tied = s.tied_output || traits.tied_embeddings;
  matrix("token_embd.weight", s.n_embd, s.n_vocab, tied ? logit_gain : 1.0);
  vector("output_norm.weight", s.n_embd, 1.0, 0.05);
  if (!tied) matrix("output.weight", s.n_embd, s.n_vocab, logit_gain);
  if (longrope) {
    std::vector<float> long_f = llama3_rope_factors(head_dim, s.rope_freq_base), short_f(head_dim / 2);
    for (std::size_t i = 0; i < short_f.size(); ++i)
      short_f[i] = 1.0f + 0.5f * float(i) / float(short_f.size());
    w.add_tensor("rope_factors_long.weight", {head_dim / 2}, GgmlType::f32, f32_bytes(long_f));
    w.add_tensor("rope_factors_short.weight", {head_dim / 2}, GgmlType::f32, f32_bytes(short_f));
  } else if (s.rope_factors) {
    const auto f = llama3_rope_factors(head_dim, s.rope_freq_base);
    w.add_tensor("rope_freqs.weight", {head_dim / 2}, GgmlType::f32, f32_bytes(f));
  }
  for (std::uint32_t i = 0; i < s.n_layers; ++i) {
    const std::string b = fmt::format("blk.{}.", i);
    vector(b + "attn_norm.weight", s.n_embd, 1.0, 0.05);
    if (traits.fused_qkv) {
      matrix(b + "attn_qkv.weight", s.n_embd, q_dim + 2 * kv_dim, in_gain);
    } else {
      matrix(b + "attn_q.weight", s.n_embd, q_dim, in_gain);
      matrix(b + "attn_k.weight", s.n_embd, kv_dim, in_gain);
      matrix(b + "attn_v.weight", s.n_embd, kv_dim, in_gain);
    }
    if (traits.qkv_bias) {
      vector(b + "attn_q.bias", q_dim, 0.0, 0.1);
      vector(b + "attn_k.bias", kv_dim, 0.0, 0.1);
      vector(b + "attn_v.bias", kv_dim, 0.0, 0.1);
    }
    if (traits.qk_norm) {
      vector(b + "attn_q_norm.weight", head_dim, 1.0, 0.05);
      vector(b + "attn_k_norm.weight", head_dim, 1.0, 0.05);
    }
    matrix(b + "attn_output.weight", q_dim, s.n_embd, out_gain);
    vector(b + "ffn_norm.weight", s.n_embd, 1.0, 0.05);
    if (traits.fused_gate_up) {
      matrix(b + "ffn_up.weight", s.n_embd, 2 * s.n_ff, in_gain);  // gate rows, then up rows
    } else {
      matrix(b + "ffn_gate.weight", s.n_embd, s.n_ff, in_gain);
      matrix(b + "ffn_up.weight", s.n_embd, s.n_ff, in_gain);
    }
    matrix(b + "ffn_down.weight", s.n_ff, s.n_embd, ff_out_gain);
    if (traits.post_norms) {
      // gemma's embeddings enter the residual stream times sqrt(n_embd), with an RMS of about
      // logit_std when tied: post norms of weight 3 keep each block's part in the logits visible.
      vector(b + "post_attention_norm.weight", s.n_embd, 3.0, 0.3);
      vector(b + "post_ffw_norm.weight", s.n_embd, 3.0, 0.3);
    }
  }
  return w;
}

}  // namespace lagvk
