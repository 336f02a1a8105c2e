#include "engine/ref/forward.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "engine/core/error.hpp"
#include "engine/model/model.hpp"
#include "engine/model/pooling.hpp"
#include "engine/ref/ops.hpp"

namespace lagvk::ref {
namespace {

std::vector<float> to_float(const std::optional<TensorView>& t) {
  return t ? t->to_float() : std::vector<float>{};
}

/// y = x W^T (+ bias) for rows of x: x is rows x in, W is out x in (GGUF ne {in, out}). Large products
/// are split by output columns over threads; each element is still the same ordered sum, so results do
/// not depend on the thread count.
std::vector<float> linear(std::span<const float> x, std::span<const float> w, std::span<const float> bias,
                          std::size_t rows, std::size_t in, std::size_t out) {
  std::vector<float> y(rows * out);
  const std::size_t work = rows * in * out;
  const std::size_t threads = work < (std::size_t(1) << 22)
                                  ? 1
                                  : std::min<std::size_t>({std::thread::hardware_concurrency(), 16, out});
  if (threads <= 1) {
    matmul_abt(x, w, y, rows, out, in);
  } else {
    std::vector<std::jthread> pool;
    const std::size_t chunk = (out + threads - 1) / threads;
    for (std::size_t o0 = 0; o0 < out; o0 += chunk) {
      const std::size_t n = std::min(chunk, out - o0);
      pool.emplace_back([&, o0, n] {
        std::vector<float> part(rows * n);
        matmul_abt(x, w.subspan(o0 * in, n * in), part, rows, n, in);
        for (std::size_t r = 0; r < rows; ++r)
          std::copy_n(part.begin() + std::ptrdiff_t(r * n), n, y.begin() + std::ptrdiff_t(r * out + o0));
      });
    }
  }  // the jthreads join here
  if (!bias.empty())
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o) y[r * out + o] += bias[o];
  return y;
}

}  // namespace

RefModel::RefModel(const Model& model, std::uint32_t context) : config_(model.config()) {
  const auto& w = model.weights();
  token_embd_ = w.token_embd.to_float();
  if (config_.traits.layout == BlockLayout::bert_encoder) {
    position_embd_ = to_float(w.position_embd);
    token_type0_ = to_float(w.token_types);
    token_type0_.resize(config_.n_embd);  // only type 0 is used: one text, no sentence pairs
    embd_norm_ = to_float(w.token_embd_norm);
    embd_norm_b_ = to_float(w.token_embd_norm_b);
    for (const auto& l : w.layers) {
      Layer d;
      d.wq = l.wq.to_float();
      d.wk = l.wk.to_float();
      d.wv = l.wv.to_float();
      d.wo = l.wo.to_float();
      d.bq = to_float(l.bq);
      d.bk = to_float(l.bk);
      d.bv = to_float(l.bv);
      d.bo = to_float(l.bo);
      d.attn_out_norm = to_float(l.attn_out_norm);
      d.attn_out_norm_b = to_float(l.attn_out_norm_b);
      d.ffn_up = l.ffn_up.to_float();
      if (config_.traits.gated_encoder_ffn) d.ffn_gate = l.ffn_gate.to_float();
      d.b_up = to_float(l.b_up);
      d.ffn_down = l.ffn_down.to_float();
      d.b_down = to_float(l.b_down);
      d.out_norm = to_float(l.out_norm);
      d.out_norm_b = to_float(l.out_norm_b);
      layers_.push_back(std::move(d));
    }
    return;
  }
  output_norm_ = w.output_norm.to_float();
  if (!config_.tied_output) output_ = w.output.to_float();
  rope_freqs_ = to_float(rope_factors(model, context ? context : config_.n_ctx_train));
  layers_.reserve(w.layers.size());
  for (const auto& l : w.layers) {
    Layer d;
    d.attn_norm = l.attn_norm.to_float();
    d.wq = l.wq.to_float();
    d.wk = l.wk.to_float();
    d.wv = l.wv.to_float();
    d.wo = l.wo.to_float();
    d.bq = to_float(l.bq);
    d.bk = to_float(l.bk);
    d.bv = to_float(l.bv);
    d.q_norm = to_float(l.q_norm);
    d.k_norm = to_float(l.k_norm);
    d.ffn_norm = l.ffn_norm.to_float();
    d.ffn_gate = l.ffn_gate.to_float();
    d.ffn_up = l.ffn_up.to_float();
    d.ffn_down = l.ffn_down.to_float();
    d.attn_post_norm = to_float(l.attn_post_norm);
    d.ffn_post_norm = to_float(l.ffn_post_norm);
    layers_.push_back(std::move(d));
  }
}

void RefModel::reset() {
  n_past_ = 0;
  for (auto& l : layers_) {
    l.k_cache.clear();
    l.v_cache.clear();
  }
}

std::vector<float> RefModel::encode(std::span<const std::int32_t> tokens) const {
  const auto& c = config_;
  if (c.traits.layout != BlockLayout::bert_encoder)
    fail(Errc::invalid_argument, "encode() is for encoder models; '{}' is a decoder", c.arch);
  const std::size_t n = tokens.size(), embd = c.n_embd, hd = c.head_dim, qd = c.q_dim(), kvd = c.kv_dim();
  const std::size_t ff = c.n_ff;
  if (n == 0) return {};
  if (n > c.n_ctx_train)
    fail(Errc::context_full, "{} tokens exceed the model's {} positions", n, c.n_ctx_train);
  for (auto t : tokens)
    if (t < 0 || std::uint32_t(t) >= c.n_vocab)
      fail("token id {} is outside the vocabulary (0..{})", t, c.n_vocab - 1);
  auto trace = [&](std::string_view name, std::span<const float> v) {
    if (hook_) hook_(name, v);
  };
  auto layer_trace = [&](std::size_t i, std::string_view what, std::span<const float> v) {
    if (hook_) hook_(fmt::format("blk.{}.{}", i, what), v);
  };

  // Token + position + token type, then LayerNorm.
  std::vector<std::int32_t> positions(n);
  for (std::size_t t = 0; t < n; ++t) positions[t] = std::int32_t(t);
  std::vector<float> x(n * embd), pos(n * embd);
  embedding(token_embd_, tokens, x, embd);
  if (c.traits.learned_positions)
    embedding(position_embd_, positions, pos, embd);  // else the zeros: nomic-bert rotates q and k instead
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t d = 0; d < embd; ++d) x[t * embd + d] += pos[t * embd + d] + token_type0_[d];
  layernorm(x, embd_norm_, embd_norm_b_, x, n, embd, c.layer_norm_eps);
  trace("inp_embd", x);

  std::vector<float> attn(n * qd);
  for (std::size_t li = 0; li < layers_.size(); ++li) {
    const auto& l = layers_[li];
    auto q = linear(x, l.wq, l.bq, n, embd, qd);
    auto k = linear(x, l.wk, l.bk, n, embd, kvd);
    const auto v = linear(x, l.wv, l.bv, n, embd, kvd);
    if (!c.traits.learned_positions) {
      const RopeParams rope_params = c.rope_params(std::uint32_t(li));
      rope(q, positions, c.n_head, hd, rope_params);
      rope(k, positions, c.n_head_kv, hd, rope_params);
    }
    layer_trace(li, "q", q);
    layer_trace(li, "k", k);
    layer_trace(li, "v", v);
    attention(q, k, v, attn, n, c.n_head, c.n_head_kv, hd, 0, float(1.0 / std::sqrt(double(hd))), false);
    layer_trace(li, "kqv_out", attn);
    const auto o = linear(attn, l.wo, l.bo, n, qd, embd);
    layer_trace(li, "attn_out", o);
    add(x, o, x);
    layernorm(x, l.attn_out_norm, l.attn_out_norm_b, x, n, embd, c.layer_norm_eps);
    layer_trace(li, "attn_out_norm", x);

    auto up = linear(x, l.ffn_up, l.b_up, n, embd, ff);
    if (c.traits.gated_encoder_ffn) {
      const auto gate = linear(x, l.ffn_gate, {}, n, embd, ff);
      swiglu(gate, up, up);
    } else {
      gelu(up, up);
    }
    layer_trace(li, "ffn_act", up);
    const auto down = linear(up, l.ffn_down, l.b_down, n, ff, embd);
    layer_trace(li, "ffn_out", down);
    add(x, down, x);
    layernorm(x, l.out_norm, l.out_norm_b, x, n, embd, c.layer_norm_eps);
    layer_trace(li, "l_out", x);
  }
  return x;
}

std::vector<float> RefModel::embed(std::span<const std::int32_t> tokens) const {
  if (tokens.empty()) fail(Errc::invalid_argument, "nothing to embed: no tokens");
  return pool_tokens(encode(tokens), tokens.size(), config_.n_embd, config_.pooling);
}

void RefModel::check_decoder() const {
  if (config_.traits.embedding_only())
    fail(Errc::unsupported_model, "'{}' is an embedding model ({}): it makes sentence vectors, not logits",
         config_.name.empty() ? config_.arch : config_.name, config_.arch);
}

std::vector<float> RefModel::forward(std::span<const std::int32_t> tokens) {
  const auto& c = config_;
  check_decoder();
  if (tokens.empty()) return {};
  for (auto t : tokens)
    if (t < 0 || std::uint32_t(t) >= c.n_vocab)
      fail("token id {} is outside the vocabulary (0..{})", t, c.n_vocab - 1);
  std::vector<float> x(tokens.size() * c.n_embd);
  embedding(token_embd_, tokens, x, c.n_embd);
  return logits(decode(std::move(x)));
}

std::vector<float> RefModel::forward_embeddings(std::span<const float> embeddings) {
  return logits(hidden_states(embeddings));
}

std::vector<float> RefModel::hidden_states(std::span<const float> embeddings) {
  check_decoder();
  if (embeddings.size() % config_.n_embd != 0)
    fail(Errc::invalid_argument, "{} values are not whole rows of the model's width {}", embeddings.size(),
         config_.n_embd);
  if (embeddings.empty()) return {};
  return decode(std::vector<float>(embeddings.begin(), embeddings.end()));
}

void RefModel::share_cache(const RefModel& decoder) {
  const auto& c = config_;
  const auto& d = decoder.config_;
  if (c.n_layers != d.n_layers || c.kv_dim() != d.kv_dim())
    fail(Errc::invalid_argument, "a cache of {} layers x {} cannot prefix a model of {} layers x {}",
         d.n_layers, d.kv_dim(), c.n_layers, c.kv_dim());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].k_cache = decoder.layers_[i].k_cache;
    layers_[i].v_cache = decoder.layers_[i].v_cache;
  }
  n_past_ = decoder.n_past_;
}

std::vector<float> RefModel::logits(std::span<const float> h) const {
  const auto& c = config_;
  const std::size_t n = h.size() / c.n_embd;
  auto out = linear(h, c.tied_output ? token_embd_ : output_, {}, n, c.n_embd, c.n_vocab);
  if (c.final_softcap > 0.0f) softcap(out, out, c.final_softcap);
  if (hook_) hook_("result_output", out);
  return out;
}

std::vector<float> RefModel::decode(std::vector<float> x) {
  const auto& c = config_;
  const std::size_t embd = c.n_embd, n = x.size() / embd, hd = c.head_dim, qd = c.q_dim(), kvd = c.kv_dim();
  const std::size_t ff = c.n_ff;

  std::vector<std::int32_t> positions(n);
  for (std::size_t t = 0; t < n; ++t) positions[t] = std::int32_t(n_past_ + t);
  const float attn_scale = c.attn_scale > 0.0f ? c.attn_scale : float(1.0 / std::sqrt(double(hd)));

  auto trace = [&](std::string_view name, std::span<const float> v) {
    if (hook_) hook_(name, v);
  };
  auto layer_trace = [&](std::size_t i, std::string_view what, std::span<const float> v) {
    if (hook_) hook_(fmt::format("blk.{}.{}", i, what), v);
  };

  if (c.traits.scale_embeddings) scale(x, x, std::sqrt(float(embd)));
  trace("inp_embd", x);

  std::vector<float> h(n * embd), attn(n * qd), gate_up(n * ff);
  for (std::size_t li = 0; li < layers_.size(); ++li) {
    auto& l = layers_[li];
    RopeParams rope_params = c.rope_params(std::uint32_t(li));
    rope_params.freq_factors = rope_freqs_;
    const std::size_t window = c.is_sliding(std::uint32_t(li)) ? c.sliding_window : 0;
    // Attention block.
    rmsnorm(x, l.attn_norm, h, n, embd, c.rms_eps);
    layer_trace(li, "attn_norm", h);
    auto q = linear(h, l.wq, l.bq, n, embd, qd);
    auto k = linear(h, l.wk, l.bk, n, embd, kvd);
    auto v = linear(h, l.wv, l.bv, n, embd, kvd);
    if (!l.q_norm.empty()) {  // qwen3: RMS norm over each head's vector, before RoPE
      rmsnorm(q, l.q_norm, q, n * c.n_head, hd, c.rms_eps);
      rmsnorm(k, l.k_norm, k, n * c.n_head_kv, hd, c.rms_eps);
    }
    rope(q, positions, c.n_head, hd, rope_params);
    rope(k, positions, c.n_head_kv, hd, rope_params);
    layer_trace(li, "q", q);
    layer_trace(li, "k", k);
    layer_trace(li, "v", v);
    l.k_cache.insert(l.k_cache.end(), k.begin(), k.end());
    l.v_cache.insert(l.v_cache.end(), v.begin(), v.end());
    attention(q, l.k_cache, l.v_cache, attn, n, c.n_head, c.n_head_kv, hd, n_past_, attn_scale, true, window,
              c.attn_softcap);
    layer_trace(li, "kqv_out", attn);
    auto o = linear(attn, l.wo, {}, n, qd, embd);
    if (!l.attn_post_norm.empty()) rmsnorm(o, l.attn_post_norm, o, n, embd, c.rms_eps);
    layer_trace(li, "attn_out", o);
    add(x, o, x);
    layer_trace(li, "ffn_inp", x);

    // Feed-forward block.
    rmsnorm(x, l.ffn_norm, h, n, embd, c.rms_eps);
    layer_trace(li, "ffn_norm", h);
    const auto gate = linear(h, l.ffn_gate, {}, n, embd, ff);
    const auto up = linear(h, l.ffn_up, {}, n, embd, ff);
    if (c.traits.ffn_activation == FfnActivation::gelu)
      geglu(gate, up, gate_up);
    else
      swiglu(gate, up, gate_up);
    layer_trace(li, "ffn_act", gate_up);
    auto down = linear(gate_up, l.ffn_down, {}, n, ff, embd);
    if (!l.ffn_post_norm.empty()) rmsnorm(down, l.ffn_post_norm, down, n, embd, c.rms_eps);
    layer_trace(li, "ffn_out", down);
    add(x, down, x);
    layer_trace(li, "l_out", x);
  }
  n_past_ += n;

  rmsnorm(x, output_norm_, h, n, embd, c.rms_eps);
  trace("result_norm", h);
  return h;
}

}  // namespace lagvk::ref
