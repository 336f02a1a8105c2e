#include "engine/forward/forward.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "engine/core/error.hpp"
#include "engine/forward/linear.hpp"
#include "engine/ops/attention.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/embedding.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"
#include "engine/ops/norm.hpp"
#include "engine/ops/rope.hpp"

namespace lagvk {

Forward::Forward(vk::Context& ctx, const GpuWeights& weights, std::uint32_t max_batch)
    : ctx_(ctx), weights_(weights), max_batch_(std::max(max_batch, 1u)), stream_(ctx) {
  const auto& c = weights.config();
  const std::uint64_t B = max_batch_, q_dim = std::uint64_t(c.heads) * c.head_dim,
                      kv_dim = std::uint64_t(c.kv_heads) * c.head_dim;
  // Token ids and positions are written by the host every pass: host-visible, so no staging copy.
  ids_ = ctx.create_buffer(B * 4, vk::MemoryKind::upload);
  positions_ = ctx.create_buffer(B * 4, vk::MemoryKind::upload);
  x_ = ctx.create_buffer(B * c.dim * 4);
  // A decode row's projections read x_ as vec4 texels from its start (devices that read through texel
  // views). The view is made now: a buffer keeps few views, and the last-row norms of passes with many
  // sequences make one per row, which could otherwise leave none for it.
  (void)ctx.texel_binding(vk::BufferView(x_), vk::TexelFormat::f32x4);
  xn_ = ctx.create_buffer(B * c.dim * 4);
  q_ = ctx.create_buffer(B * q_dim * 4);
  k_ = ctx.create_buffer(B * kv_dim * 4);
  v_ = ctx.create_buffer(B * kv_dim * 4);
  attn_ = ctx.create_buffer(B * q_dim * 4);
  tmp_ = ctx.create_buffer(B * c.dim * 4);
  gate_ = ctx.create_buffer(B * c.ff * 4);
  up_ = ctx.create_buffer(B * c.ff * 4);
  qkv_row_ = ctx.create_buffer((q_dim + 2 * kv_dim) * 4);
  ffn_row_ = ctx.create_buffer(std::uint64_t(c.ff) * 4);
  attn_partials_ =
      ctx.create_buffer(ops::attention_scratch_bytes(kSplitAttentionTokens * c.heads, c.head_dim));
  reserve_logit_rows(1);
}

vk::CommandStream& Forward::begin_pass() {
  stream_.discard();
  stream_.set_profiling(profile_);
  return stream_;
}

void Forward::count_pass(const vk::StreamCounts& before) {
  const vk::StreamCounts& now = stream_.counts();
  timings_.dispatches += std::uint32_t(now.dispatches - before.dispatches);
  timings_.barriers += std::uint32_t(now.barriers - before.barriers);
  timings_.submits += std::uint32_t(now.submits - before.submits);
  timings_.kernels.insert(timings_.kernels.end(), stream_.timings().begin(), stream_.timings().end());
}

void Forward::reserve_logit_rows(std::uint32_t rows) {
  if (rows <= logit_rows_) return;
  const std::uint64_t bytes = std::uint64_t(rows) * weights_.config().vocab * 4;
  logits_ = ctx_.create_buffer(bytes);
  // Where device memory is the host's own (CPU and integrated devices) the host reads logits_ in place;
  // elsewhere it may be uncached or not mappable at all: the pass copies to cached readback memory.
  const bool shared = ctx_.info().type == "cpu" || ctx_.info().type == "integrated";
  logits_host_ =
      shared && logits_.host_visible() ? vk::Buffer() : ctx_.create_buffer(bytes, vk::MemoryKind::readback);
  logit_rows_ = rows;
}

void Forward::record_logits_readback(vk::CommandStream& cs, std::uint32_t rows) {
  if (!logits_host_) return;
  const std::uint64_t bytes = std::uint64_t(rows) * weights_.config().vocab * 4;
  cs.copy(vk::BufferView(logits_, 0, bytes), vk::BufferView(logits_host_, 0, bytes));
}

void Forward::read_logits(std::uint32_t rows, std::span<float> out) const {
  const std::size_t count = std::size_t(rows) * weights_.config().vocab;
  if (out.size() < count) fail("internal: {} logits do not fit {} floats", count, out.size());
  // The pass waited for the GPU and made its writes visible to the host (CommandStream::finish).
  const vk::Buffer& host = logits_host_ ? logits_host_ : logits_;
  std::memcpy(out.data(), host.mapped().data(), count * sizeof(float));
}

namespace {

/// The scores' sliding window and soft cap of one layer (none for llama-family models).
ops::ScoreShaping score_shaping(const ForwardConfig& c, std::uint32_t layer) {
  return {c.is_sliding(layer) ? c.sliding_window : 0u, c.attn_softcap};
}

/// The residual connection of a block's output projection: x += in W^T, in the projection's epilogue; with
/// gemma's post norm (an RMSNorm of the block's output before the add) through `tmp`, the norm and an add.
void project_residual(vk::Context& ctx, vk::CommandStream& cs, const GpuTensor& w, const vk::BufferView& in,
                      const std::optional<GpuTensor>& post_norm, const vk::Buffer& tmp, const vk::Buffer& x,
                      std::uint32_t n, const ForwardConfig& c) {
  if (!post_norm) {
    linear(ctx, cs, w, in, x, n, ops::Epilogue::accumulate);
    return;
  }
  linear(ctx, cs, w, in, tmp, n);
  ops::rmsnorm(ctx, cs, tmp, post_norm->view(), tmp, n, c.dim, c.norm_eps);
  ops::add(ctx, cs, x, tmp, x, n * c.dim);
}

}  // namespace

void Forward::record_attention(vk::CommandStream& cs, std::span<const ForwardSegment> segments,
                               std::span<const std::uint32_t> kv_starts, std::uint32_t layer,
                               std::uint32_t n_rows, const Qkv& qkv, const ops::RopeArgs& rope) {
  const auto& c = weights_.config();
  const std::uint64_t q_row = std::uint64_t(c.heads) * c.head_dim * 4,
                      kv_row = std::uint64_t(c.kv_heads) * c.head_dim * 4;
  const float scale = c.attn_scale > 0.0f ? c.attn_scale : 1.0f / std::sqrt(float(c.head_dim));
  // Different sequences touch different pages and rows: their stores (keys rotated on the way) run side by
  // side with the queries' rotation, then their attentions (each reads the entries its own store wrote).
  cs.begin_parallel();
  ops::rope(ctx_, cs, qkv.q, positions_, n_rows, c.heads, c.head_dim, rope);
  for (std::size_t i = 0, row = 0; i < segments.size(); row += segments[i++].tokens) {
    const std::uint32_t n = segments[i].tokens;
    ops::kv_store(ctx_, cs, qkv.k.sub(row * kv_row, n * kv_row), qkv.v.sub(row * kv_row, n * kv_row),
                  segments[i].seq->layer_view(layer), n, kv_starts[i], 0, 0,
                  ops::KeyRotation{vk::BufferView(positions_, row * 4, n * 4), rope});
  }
  cs.end_parallel();
  // Segments of few tokens (decode steps) may split their keys over workgroups (split-K): each gets its own
  // part of the partial-state scratch while it lasts; the ops choose the kernel and the splits per call.
  cs.begin_parallel();
  std::uint64_t scratch_used = 0;
  for (std::size_t i = 0, row = 0; i < segments.size(); row += segments[i++].tokens) {
    const std::uint32_t n = segments[i].tokens;
    ops::AttentionPlan plan;
    const std::uint64_t need = ops::attention_scratch_bytes(std::uint64_t(n) * c.heads, c.head_dim);
    if (scratch_used + need <= attn_partials_.size()) {
      plan.scratch = vk::BufferView(attn_partials_, scratch_used, need);
      scratch_used += need;
    }
    ops::attention(ctx_, cs, qkv.q.sub(row * q_row, n * q_row), segments[i].seq->layer_view(layer),
                   vk::BufferView(attn_, row * q_row, n * q_row), n, c.heads, kv_starts[i], scale,
                   ops::AttentionMask::causal, score_shaping(c, layer), plan);
  }
  cs.end_parallel();
}

void Forward::record_batch(vk::CommandStream& cs, std::span<const ForwardSegment> segments, std::uint32_t n,
                           Output output, bool embedded) {
  const auto& c = weights_.config();
  const std::uint32_t q_dim = c.heads * c.head_dim, kv_dim = c.kv_heads * c.head_dim;
  std::vector<std::uint32_t> kv_starts;
  for (const auto& s : segments) kv_starts.push_back(s.seq->length());

  if (!embedded)
    ops::embedding(ctx_, cs, weights_.token_embd().format, weights_.token_embd().view(), ids_, x_, n,
                   std::uint32_t(weights_.token_embd().rows), c.dim);
  if (c.scale_embeddings) ops::scale(ctx_, cs, x_, x_, n * c.dim, std::sqrt(float(c.dim)));
  // A decode row's projections normalise x_ as they read it; other passes normalise it into xn_ first.
  const bool fuse_norms = n == 1 && fuse_input_norms_;
  const vk::BufferView normed = fuse_norms ? vk::BufferView(x_) : vk::BufferView(xn_);
  auto input_norm = [&](const GpuTensor& weight) -> std::optional<ops::InputNorm> {
    if (fuse_norms) return ops::InputNorm{weight.view(), c.norm_eps};
    ops::rmsnorm(ctx_, cs, x_, weight.view(), xn_, n, c.dim, c.norm_eps);
    return std::nullopt;
  };
  for (std::uint32_t l = 0; l < c.layers; ++l) {
    const GpuLayer& L = weights_.layer(l);
    const ops::RopeArgs rope = rope_args(weights_, l);
    const std::optional<ops::InputNorm> attn_norm = input_norm(L.attn_norm);
    // A decode row with stacked weights projects q, k and v in one dispatch, into one row [q | k | v].
    const bool fused_qkv = n == 1 && L.wqkv;
    const Qkv qkv = fused_qkv ? Qkv{vk::BufferView(qkv_row_, 0, q_dim * 4ull),
                                    vk::BufferView(qkv_row_, q_dim * 4ull, kv_dim * 4ull),
                                    vk::BufferView(qkv_row_, (q_dim + kv_dim) * 4ull, kv_dim * 4ull)}
                              : Qkv{q_, k_, v_};
    if (fused_qkv) {
      linear(ctx_, cs, *L.wqkv, normed, qkv_row_, 1, ops::Epilogue::store, attn_norm);
    } else {
      cs.begin_parallel();
      linear(ctx_, cs, L.wq, normed, qkv.q, n, ops::Epilogue::store, attn_norm);
      linear(ctx_, cs, L.wk, normed, qkv.k, n, ops::Epilogue::store, attn_norm);
      linear(ctx_, cs, L.wv, normed, qkv.v, n, ops::Epilogue::store, attn_norm);
      cs.end_parallel();
    }
    if (c.qkv_bias) {
      cs.begin_parallel();
      ops::add(ctx_, cs, qkv.q, L.bq->view(), qkv.q, n * q_dim, q_dim);
      ops::add(ctx_, cs, qkv.k, L.bk->view(), qkv.k, n * kv_dim, kv_dim);
      ops::add(ctx_, cs, qkv.v, L.bv->view(), qkv.v, n * kv_dim, kv_dim);
      cs.end_parallel();
    }
    if (c.qk_norm) {
      cs.begin_parallel();
      ops::rmsnorm(ctx_, cs, qkv.q, L.q_norm->view(), qkv.q, n * c.heads, c.head_dim, c.norm_eps);
      ops::rmsnorm(ctx_, cs, qkv.k, L.k_norm->view(), qkv.k, n * c.kv_heads, c.head_dim, c.norm_eps);
      cs.end_parallel();
    }
    record_attention(cs, segments, kv_starts, l, n, qkv, rope);
    project_residual(ctx_, cs, L.wo, attn_, L.attn_post_norm, tmp_, x_, n, c);
    const std::optional<ops::InputNorm> ffn_norm = input_norm(L.ffn_norm);
    // Likewise gate and up, with the activation in the same dispatch's epilogue: one row act(gate) up.
    const ops::Epilogue activation = c.geglu ? ops::Epilogue::geglu : ops::Epilogue::swiglu;
    const bool fused_ffn = n == 1 && L.w_gate_up;
    if (fused_ffn) {
      linear(ctx_, cs, *L.w_gate_up, normed, ffn_row_, 1, activation, ffn_norm);
    } else {
      cs.begin_parallel();
      linear(ctx_, cs, L.w_gate, normed, gate_, n, ops::Epilogue::store, ffn_norm);
      linear(ctx_, cs, L.w_up, normed, up_, n, ops::Epilogue::store, ffn_norm);
      cs.end_parallel();
      if (c.geglu)
        ops::geglu(ctx_, cs, gate_, up_, gate_, n * c.ff);
      else
        ops::swiglu(ctx_, cs, gate_, up_, gate_, n * c.ff);
    }
    const vk::BufferView ffn_out = fused_ffn ? vk::BufferView(ffn_row_) : vk::BufferView(gate_);
    project_residual(ctx_, cs, L.w_down, ffn_out, L.ffn_post_norm, tmp_, x_, n, c);
  }
  if (output == Output::hidden_sum || output == Output::hidden_rows) {
    ops::rmsnorm(ctx_, cs, x_, weights_.output_norm().view(), xn_, n, c.dim, c.norm_eps);
  } else if (output == Output::all_logits) {
    ops::rmsnorm(ctx_, cs, x_, weights_.output_norm().view(), xn_, n, c.dim, c.norm_eps);
    linear(ctx_, cs, weights_.output(), xn_, logits_, n);
    if (c.final_softcap > 0.0f) ops::softcap(ctx_, cs, logits_, logits_, n * c.vocab, c.final_softcap);
  } else if (fuse_norms) {
    linear(ctx_, cs, weights_.output(), x_, logits_, 1, ops::Epilogue::store,
           ops::InputNorm{weights_.output_norm().view(), c.norm_eps});
    if (c.final_softcap > 0.0f) ops::softcap(ctx_, cs, logits_, logits_, c.vocab, c.final_softcap);
  } else {
    // Each segment's last row, normalised into consecutive rows of xn_: the output projection (the
    // largest matrix of a small model) then runs once over the rows that need logits.
    const std::uint64_t row_bytes = std::uint64_t(c.dim) * 4;
    cs.begin_parallel();
    for (std::size_t i = 0, row = 0; i < segments.size(); ++i) {
      row += segments[i].tokens;
      ops::rmsnorm(ctx_, cs, vk::BufferView(x_, (row - 1) * row_bytes, row_bytes),
                   weights_.output_norm().view(), vk::BufferView(xn_, i * row_bytes, row_bytes), 1, c.dim,
                   c.norm_eps);
    }
    cs.end_parallel();
    linear(ctx_, cs, weights_.output(), xn_, logits_, std::uint32_t(segments.size()));
    if (c.final_softcap > 0.0f)
      ops::softcap(ctx_, cs, logits_, logits_, std::uint32_t(segments.size()) * c.vocab, c.final_softcap);
  }
}

void Forward::check_tokens(std::span<const std::int32_t> tokens,
                           std::span<const std::int32_t> positions) const {
  const auto& c = weights_.config();
  if (tokens.size() != positions.size())
    fail("internal: {} tokens but {} positions", tokens.size(), positions.size());
  if (tokens.empty()) fail(Errc::invalid_argument, "nothing to evaluate: the prompt is empty");
  for (auto t : tokens)
    if (t < 0 || std::uint32_t(t) >= c.vocab)
      fail(Errc::bad_input, "token id {} is outside the model's vocabulary of {}", t, c.vocab);
}

std::size_t Forward::check_input(const Input& input, std::span<const std::int32_t> positions) const {
  if (input.embeddings.empty()) {
    check_tokens(input.tokens, positions);
    return input.tokens.size();
  }
  const std::uint32_t dim = weights_.config().dim;
  if (input.embeddings.size() % dim != 0)
    fail(Errc::invalid_argument, "{} input values are not whole embeddings of the model's width {}",
         input.embeddings.size(), dim);
  const std::size_t rows = input.embeddings.size() / dim;
  if (rows != positions.size()) fail("internal: {} embeddings but {} positions", rows, positions.size());
  for (float v : input.embeddings)
    if (!std::isfinite(v)) fail(Errc::bad_input, "an input embedding holds a value that is not finite");
  return rows;
}

std::vector<float> Forward::eval_segments(std::span<const ForwardSegment> segments,
                                          std::span<const std::int32_t> tokens,
                                          std::span<const std::int32_t> positions) {
  const auto& c = weights_.config();
  check_tokens(tokens, positions);
  std::size_t rows = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    if (s.seq == nullptr || s.tokens == 0) fail("internal: segment {} is empty", i);
    for (std::size_t j = 0; j < i; ++j)
      if (segments[j].seq == s.seq) fail("internal: a sequence appears twice in one batched pass");
    if (std::uint64_t(s.seq->length()) + s.tokens > s.seq->max_tokens())
      fail(Errc::context_full, "context full: {} tokens in the context plus {} new exceed its {} tokens",
           s.seq->length(), s.tokens, s.seq->max_tokens());
    rows += s.tokens;
  }
  if (rows != tokens.size()) fail("internal: segments hold {} rows for {} tokens", rows, tokens.size());
  if (rows > max_batch_) fail("internal: a batched pass of {} rows exceeds max_batch {}", rows, max_batch_);

  const auto t0 = std::chrono::steady_clock::now();
  timings_ = {};
  ctx_.upload(ids_, tokens);
  ctx_.upload(positions_, positions);
  for (const auto& s : segments) s.seq->reserve(s.tokens);
  const auto out_rows = std::uint32_t(segments.size());
  reserve_logit_rows(out_rows);
  vk::CommandStream& cs = begin_pass();
  const vk::StreamCounts before = cs.counts();
  record_batch(cs, segments, std::uint32_t(rows), Output::last_logits);
  record_logits_readback(cs, out_rows);
  cs.finish();
  for (const auto& s : segments) s.seq->advance(s.tokens);
  count_pass(before);
  std::vector<float> logits(std::size_t(out_rows) * c.vocab);
  read_logits(out_rows, logits);
  timings_.gpu_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return logits;
}

std::vector<float> Forward::eval(KvSequence& seq, std::span<const std::int32_t> tokens,
                                 std::span<const std::int32_t> positions, bool all_logits) {
  return run(seq, Input{tokens, {}}, positions, all_logits ? Output::all_logits : Output::last_logits);
}

std::vector<float> Forward::eval_embeddings(KvSequence& seq, std::span<const float> embeddings,
                                            std::span<const std::int32_t> positions) {
  if (embeddings.empty()) fail(Errc::invalid_argument, "nothing to evaluate: no input embeddings");
  return run(seq, Input{{}, embeddings}, positions, Output::last_logits);
}

std::vector<float> Forward::hidden_states(KvSequence& seq, std::span<const float> embeddings,
                                          std::span<const std::int32_t> positions) {
  if (embeddings.empty()) fail(Errc::invalid_argument, "nothing to evaluate: no input embeddings");
  return run(seq, Input{{}, embeddings}, positions, Output::hidden_rows);
}

std::vector<float> Forward::mean_hidden_state(KvSequence& seq, std::span<const std::int32_t> tokens,
                                              std::span<const std::int32_t> positions) {
  std::vector<float> sum = run(seq, Input{tokens, {}}, positions, Output::hidden_sum);
  for (auto& v : sum) v /= float(tokens.size());
  return sum;
}

std::vector<float> Forward::run(KvSequence& seq, const Input& input, std::span<const std::int32_t> positions,
                                Output output) {
  const bool all_logits = output == Output::all_logits;
  const bool hidden = output == Output::hidden_sum || output == Output::hidden_rows;
  const bool embedded = !input.embeddings.empty();
  const auto& c = weights_.config();
  const std::size_t rows = check_input(input, positions);
  if (std::uint64_t(seq.length()) + rows > seq.max_tokens())
    fail(Errc::context_full,
         "context full: {} tokens in the context plus {} new exceed its {} tokens; shorten the prompt or "
         "load the model with a larger context",
         seq.length(), rows, seq.max_tokens());

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> out;  // logits or hidden states, as `output` says
  timings_ = {};
  for (std::size_t begin = 0; begin < rows; begin += max_batch_) {
    const std::uint32_t n = std::uint32_t(std::min<std::size_t>(max_batch_, rows - begin));
    const bool last_chunk = begin + n == rows;
    if (embedded)
      ctx_.upload(vk::BufferView(x_, 0, std::uint64_t(n) * c.dim * 4),
                  input.embeddings.subspan(begin * c.dim, std::size_t(n) * c.dim));
    else
      ctx_.upload(ids_, input.tokens.subspan(begin, n));
    ctx_.upload(positions_, positions.subspan(begin, n));
    seq.reserve(n);
    // Rows that need logits: every row, or the last one (only the last chunk's is kept).
    const std::uint32_t out_rows = output == Output::all_logits ? n : 1;
    if (!hidden) reserve_logit_rows(out_rows);
    vk::CommandStream& cs = begin_pass();
    const vk::StreamCounts before = cs.counts();
    const ForwardSegment segment{&seq, n};
    record_batch(cs, std::span<const ForwardSegment>(&segment, 1), n, output, embedded);
    if (!hidden && (all_logits || last_chunk)) record_logits_readback(cs, out_rows);
    cs.finish();
    seq.advance(n);
    count_pass(before);
    if (hidden) {
      std::vector<float> states(std::size_t(n) * c.dim);
      ctx_.download(vk::BufferView(xn_, 0, states.size() * 4), std::span<float>(states));
      if (output == Output::hidden_rows) {
        out.insert(out.end(), states.begin(), states.end());
        continue;
      }
      out.resize(c.dim, 0.0f);
      for (std::uint32_t r = 0; r < n; ++r)
        for (std::uint32_t d = 0; d < c.dim; ++d) out[d] += states[std::size_t(r) * c.dim + d];
    } else if (all_logits || last_chunk) {
      const std::size_t old = out.size();
      out.resize(old + std::size_t(out_rows) * c.vocab);
      read_logits(out_rows, std::span<float>(out).subspan(old));
    }
  }
  timings_.gpu_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lagvk
