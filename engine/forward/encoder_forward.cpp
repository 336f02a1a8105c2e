#include "engine/forward/encoder_forward.hpp"

#include <cmath>
#include <numeric>

#include "engine/core/error.hpp"
#include "engine/forward/linear.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/model/pooling.hpp"
#include "engine/ops/attention.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/embedding.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"
#include "engine/ops/norm.hpp"
#include "engine/ops/rope.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk {

namespace {

constexpr std::uint32_t kPageTokens = 16;

/// y = x W^T (+ b, the bias row added to each of the n rows, when the model has one).
void linear_bias(vk::Context& ctx, vk::CommandStream& cs, const GpuTensor& w,
                 const std::optional<GpuTensor>& b, const vk::BufferView& x, const vk::BufferView& y,
                 std::uint32_t n) {
  linear(ctx, cs, w, x, y, n);
  if (b) ops::add(ctx, cs, y, b->view(), y, n * std::uint32_t(w.rows), std::uint32_t(w.rows));
}

class Uploader {
 public:
  Uploader(vk::Context& ctx, std::uint64_t total,
           const std::function<void(std::uint64_t, std::uint64_t)>& progress)
      : ctx_(ctx), total_(total), progress_(progress) {}

  GpuTensor operator()(const TensorView& t) {
    GpuTensor g =
        GpuTensor::create(ctx_, weight_format(t.type, t.name), t.rows(), t.row_length(), t.data.size());
    ctx_.upload(g.view(), std::as_bytes(t.data));
    done_ += t.data.size();
    if (progress_) progress_(done_, total_);
    return g;
  }
  GpuTensor operator()(const std::optional<TensorView>& t) {
    if (!t) fail("internal: an encoder tensor was not bound");
    return (*this)(*t);
  }
  /// A tensor the architecture may lack (the model binding checked which it has).
  std::optional<GpuTensor> optional(const std::optional<TensorView>& t) {
    return t ? std::optional<GpuTensor>((*this)(*t)) : std::nullopt;
  }
  [[nodiscard]] std::uint64_t done() const { return done_; }

 private:
  vk::Context& ctx_;
  std::uint64_t total_, done_ = 0;
  const std::function<void(std::uint64_t, std::uint64_t)>& progress_;
};

}  // namespace

EncoderForward::EncoderForward(vk::Context& ctx, const Model& model,
                               const std::function<void(std::uint64_t, std::uint64_t)>& progress)
    : ctx_(ctx), config_(model.config()) {
  const auto& c = config_;
  if (c.traits.layout != BlockLayout::bert_encoder)
    fail(Errc::invalid_argument, "'{}' is not an encoder model (architecture {})", model.gguf().path(),
         c.arch);
  const auto& w = model.weights();
  std::uint64_t total = 0;
  for (const auto& info : model.gguf().tensors()) total += model.gguf().tensor_data(info).size();
  Uploader up(ctx, total, progress);
  weights_.token_embd = up(w.token_embd);
  weights_.position_embd = up.optional(w.position_embd);
  weights_.token_types = up(w.token_types);
  weights_.embd_norm = up(w.token_embd_norm);
  weights_.embd_norm_b = up(w.token_embd_norm_b);
  for (const auto& l : w.layers) {
    EncoderGpuWeights::Layer g{up(l.wq),
                               up(l.wk),
                               up(l.wv),
                               up(l.wo),
                               up.optional(l.bq),
                               up.optional(l.bk),
                               up.optional(l.bv),
                               up.optional(l.bo),
                               up(l.attn_out_norm),
                               up(l.attn_out_norm_b),
                               up(l.ffn_up),
                               std::nullopt,
                               up.optional(l.b_up),
                               up(l.ffn_down),
                               up.optional(l.b_down),
                               up(l.out_norm),
                               up(l.out_norm_b)};
    if (c.traits.gated_encoder_ffn) g.ffn_gate = up(l.ffn_gate);
    weights_.layers.push_back(std::move(g));
  }
  weights_.bytes = up.done();

  max_tokens_ = c.n_ctx_train;
  const std::uint64_t T = max_tokens_;
  pool_ = std::make_unique<KvPool>(ctx, KvShape{c.n_layers, c.n_head_kv, c.head_dim, kPageTokens},
                                   std::uint32_t((T + kPageTokens - 1) / kPageTokens));
  ids_ = ctx.create_buffer(T * 4);
  positions_ = ctx.create_buffer(T * 4);
  x_ = ctx.create_buffer(T * c.n_embd * 4);
  tmp_ = ctx.create_buffer(T * c.n_embd * 4);
  q_ = ctx.create_buffer(T * c.q_dim() * 4);
  k_ = ctx.create_buffer(T * c.kv_dim() * 4);
  v_ = ctx.create_buffer(T * c.kv_dim() * 4);
  attn_ = ctx.create_buffer(T * c.q_dim() * 4);
  up_ = ctx.create_buffer(T * c.n_ff * 4);
  if (c.traits.gated_encoder_ffn) gate_ = ctx.create_buffer(T * c.n_ff * 4);
}

void EncoderForward::record(vk::CommandStream& cs, KvSequence& seq, std::uint32_t n) {
  const auto& c = config_;
  const std::uint32_t dim = c.n_embd, ff = c.n_ff;
  const float eps = c.layer_norm_eps;
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  const auto& W = weights_;

  // x = token (+ learned position) + token type 0, then LayerNorm.
  cs.begin_parallel();
  ops::embedding(ctx_, cs, W.token_embd.format, W.token_embd.view(), ids_, x_, n,
                 std::uint32_t(W.token_embd.rows), dim);
  if (W.position_embd)
    ops::embedding(ctx_, cs, W.position_embd->format, W.position_embd->view(), positions_, tmp_, n,
                   std::uint32_t(W.position_embd->rows), dim);
  cs.end_parallel();
  if (W.position_embd) ops::add(ctx_, cs, x_, tmp_, x_, n * dim);
  // nomic-bert rotates queries and keys at positions 0.. (its RoPE, every layer alike).
  const ops::RopeArgs rope{c.traits.rope_mode, c.rope_dims, c.rope_freq_base, 1.0f, std::nullopt, false};
  ops::add(ctx_, cs, x_, W.token_types.view(), x_, n * dim, dim);  // row 0 of token_types, every token
  ops::layernorm(ctx_, cs, x_, W.embd_norm.view(), W.embd_norm_b.view(), x_, n, dim, eps);

  for (std::uint32_t l = 0; l < c.n_layers; ++l) {
    const auto& L = W.layers[l];
    const ops::PagedKv kv = seq.layer_view(l);
    cs.begin_parallel();
    linear(ctx_, cs, L.wq, x_, q_, n);
    linear(ctx_, cs, L.wk, x_, k_, n);
    linear(ctx_, cs, L.wv, x_, v_, n);
    cs.end_parallel();
    if (L.bq) {
      cs.begin_parallel();
      ops::add(ctx_, cs, q_, L.bq->view(), q_, n * c.q_dim(), c.q_dim());
      ops::add(ctx_, cs, k_, L.bk->view(), k_, n * c.kv_dim(), c.kv_dim());
      ops::add(ctx_, cs, v_, L.bv->view(), v_, n * c.kv_dim(), c.kv_dim());
      cs.end_parallel();
    }
    if (!W.position_embd) {
      cs.begin_parallel();
      ops::rope(ctx_, cs, q_, positions_, n, c.n_head, c.head_dim, rope);
      ops::rope(ctx_, cs, k_, positions_, n, c.n_head_kv, c.head_dim, rope);
      cs.end_parallel();
    }
    ops::kv_store(ctx_, cs, k_, v_, kv, n, 0);
    ops::attention(ctx_, cs, q_, kv, attn_, n, c.n_head, 0, scale, ops::AttentionMask::bidirectional);
    linear_bias(ctx_, cs, L.wo, L.bo, attn_, tmp_, n);
    ops::add(ctx_, cs, x_, tmp_, x_, n * dim);
    ops::layernorm(ctx_, cs, x_, L.attn_out_norm.view(), L.attn_out_norm_b.view(), x_, n, dim, eps);
    if (L.ffn_gate) {
      cs.begin_parallel();
      linear(ctx_, cs, *L.ffn_gate, x_, gate_, n);
      linear(ctx_, cs, L.ffn_up, x_, up_, n);
      cs.end_parallel();
      ops::swiglu(ctx_, cs, gate_, up_, gate_, n * ff);
    } else {
      linear_bias(ctx_, cs, L.ffn_up, L.b_up, x_, up_, n);
      ops::gelu(ctx_, cs, up_, up_, n * ff);
    }
    linear_bias(ctx_, cs, L.ffn_down, L.b_down, L.ffn_gate ? gate_ : up_, tmp_, n);
    ops::add(ctx_, cs, x_, tmp_, x_, n * dim);
    ops::layernorm(ctx_, cs, x_, L.out_norm.view(), L.out_norm_b.view(), x_, n, dim, eps);
  }
}

std::vector<float> EncoderForward::encode(std::span<const std::int32_t> tokens) {
  const auto& c = config_;
  if (tokens.empty()) fail(Errc::invalid_argument, "nothing to embed: no tokens");
  if (tokens.size() > max_tokens_)
    fail(Errc::context_full,
         "the text has {} tokens but the embedding model '{}' reads at most {} (its positions); shorten the "
         "text or split it",
         tokens.size(), c.name.empty() ? c.arch : c.name, max_tokens_);
  for (auto t : tokens)
    if (t < 0 || std::uint32_t(t) >= c.n_vocab)
      fail(Errc::bad_input, "token id {} is outside the model's vocabulary of {}", t, c.n_vocab);
  const auto n = std::uint32_t(tokens.size());
  std::vector<std::int32_t> positions(n);
  std::iota(positions.begin(), positions.end(), 0);
  ctx_.upload(ids_, tokens);
  ctx_.upload(positions_, std::span<const std::int32_t>(positions));
  KvSequence seq(ctx_, *pool_, max_tokens_);
  seq.reserve(n);
  vk::CommandStream cs(ctx_);
  record(cs, seq, n);
  cs.finish();
  std::vector<float> hidden(std::size_t(n) * c.n_embd);
  ctx_.download(vk::BufferView(x_, 0, hidden.size() * 4), std::span<float>(hidden));
  return hidden;
}

std::vector<float> EncoderForward::embed(std::span<const std::int32_t> tokens) {
  return pool_tokens(encode(tokens), tokens.size(), config_.n_embd, config_.pooling);
}

}  // namespace lagvk
