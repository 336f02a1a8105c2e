#include "engine/forward/gpu_weights.hpp"

#include <algorithm>

#include "engine/core/error.hpp"

namespace lagvk {

namespace {

void expect_shape(const HostTensor& t, std::uint64_t rows, std::uint64_t cols) {
  if (t.rows != rows || t.cols != cols)
    fail(Errc::bad_model_file, "tensor {}: shape {} x {}, expected {} x {}", t.name, t.rows, t.cols, rows,
         cols);
  if (cols % block_elements(t.format) != 0)
    fail(Errc::bad_model_file, "tensor {}: row length {} is not a multiple of the {} block size", t.name,
         cols, format_name(t.format));
  if (t.data.size() < rows * row_bytes(t.format, cols))
    fail(Errc::bad_model_file, "tensor {}: {} bytes of data, expected {}", t.name, t.data.size(),
         rows * row_bytes(t.format, cols));
}

void expect_f32_vector(const HostTensor& t, std::uint64_t n) {
  if (t.format != WeightFormat::f32)
    fail(Errc::bad_model_file, "tensor {}: must be F32, is {}", t.name, format_name(t.format));
  expect_shape(t, 1, n);
}

}  // namespace

void validate(const HostWeights& h) {
  const auto& c = h.config;
  if (c.layers == 0 || c.dim == 0 || c.heads == 0 || c.kv_heads == 0 || c.head_dim == 0 || c.ff == 0 ||
      c.vocab == 0)
    fail(Errc::bad_model_file,
         "model hyper-parameters incomplete (layers {}, dim {}, heads {}, kv heads {}, head dim {}, ff {}, "
         "vocab {})",
         c.layers, c.dim, c.heads, c.kv_heads, c.head_dim, c.ff, c.vocab);
  if (c.heads % c.kv_heads != 0)
    fail(Errc::bad_model_file, "model has {} heads, not a multiple of its {} kv heads", c.heads, c.kv_heads);
  if (h.layers.size() != c.layers)
    fail(Errc::bad_model_file, "model declares {} layers but has {}", c.layers, h.layers.size());
  const std::uint64_t q_dim = std::uint64_t(c.heads) * c.head_dim,
                      kv_dim = std::uint64_t(c.kv_heads) * c.head_dim;
  expect_shape(h.token_embd, c.vocab, c.dim);
  expect_f32_vector(h.output_norm, c.dim);
  if (h.output) expect_shape(*h.output, c.vocab, c.dim);
  if (h.rope_freqs) expect_f32_vector(*h.rope_freqs, (c.rope_dims ? c.rope_dims : c.head_dim) / 2);
  for (const auto& l : h.layers) {
    expect_f32_vector(l.attn_norm, c.dim);
    expect_f32_vector(l.ffn_norm, c.dim);
    expect_shape(l.wq, q_dim, c.dim);
    expect_shape(l.wk, kv_dim, c.dim);
    expect_shape(l.wv, kv_dim, c.dim);
    expect_shape(l.wo, c.dim, q_dim);
    expect_shape(l.w_gate, c.ff, c.dim);
    expect_shape(l.w_up, c.ff, c.dim);
    expect_shape(l.w_down, c.dim, c.ff);
    if (c.qkv_bias) {
      if (!l.bq || !l.bk || !l.bv)
        fail(Errc::bad_model_file, "model needs q/k/v biases ({}) but a layer lacks them", l.wq.name);
      expect_f32_vector(*l.bq, q_dim);
      expect_f32_vector(*l.bk, kv_dim);
      expect_f32_vector(*l.bv, kv_dim);
    }
    if (c.qk_norm) {
      if (!l.q_norm || !l.k_norm)
        fail(Errc::bad_model_file, "model needs q/k norms but layer of {} lacks them", l.wq.name);
      expect_f32_vector(*l.q_norm, c.head_dim);
      expect_f32_vector(*l.k_norm, c.head_dim);
    }
    if (c.post_norms) {
      if (!l.attn_post_norm || !l.ffn_post_norm)
        fail(Errc::bad_model_file, "model needs post-attention and post-FFN norms but layer of {} lacks them",
             l.wq.name);
      expect_f32_vector(*l.attn_post_norm, c.dim);
      expect_f32_vector(*l.ffn_post_norm, c.dim);
    }
  }
}

namespace {

ops::RopeArgs model_rope_args(const GpuWeights& weights) {
  const auto& c = weights.config();
  ops::RopeArgs rope{c.rope_mode, c.rope_dims, c.rope_base, c.rope_scale, std::nullopt, false};
  if (weights.rope_freqs()) rope.factors = weights.rope_freqs()->view();
  return rope;
}

}  // namespace

ops::RopeArgs rope_args(const GpuWeights& weights) {
  const auto& c = weights.config();
  // Log KV is un-rotated and re-rotated with one RoPE for every layer (engine/kv/log_kv.*); a model whose
  // layers rotate differently would get wrong keys, so it is refused rather than spliced wrongly.
  if (c.sliding_window > 0 && c.swa_rope_base > 0.0f &&
      (c.swa_rope_base != c.rope_base || c.rope_scale != 1.0f))
    fail(Errc::unsupported_model,
         "this model's sliding-window layers use their own RoPE base (gemma3), which saving and splicing "
         "logs' keys does not support yet; use the model without logs, or a model of another architecture");
  return model_rope_args(weights);
}

ops::RopeArgs rope_args(const GpuWeights& weights, std::uint32_t layer) {
  ops::RopeArgs rope = model_rope_args(weights);
  const auto& c = weights.config();
  if (c.is_sliding(layer) && c.swa_rope_base > 0.0f) {
    rope.freq_base = c.swa_rope_base;
    rope.freq_scale = 1.0f;
  }
  return rope;
}

GpuTensor GpuTensor::create(vk::Context& ctx, WeightFormat format, std::uint64_t rows, std::uint64_t cols,
                            std::uint64_t bytes) {
  const std::uint64_t padded = (std::max<std::uint64_t>(bytes, 16) + 15) / 16 * 16;
  return {format, rows, cols, std::make_shared<const vk::Buffer>(ctx.create_buffer(padded)), 0};
}

vk::BufferView GpuTensor::view() const {
  return {*storage, offset, std::min(wide_load_bytes(format, rows, cols), storage->size() - offset)};
}

namespace {

/// Whether `parts` can be stacked row after row in one buffer (GpuLayer::wqkv): one format and row length,
/// every part starting where storage descriptors and texel views can bind it (so prefill's matrix
/// products read each part as fast as a buffer of its own), and the stack no larger than one descriptor
/// binds (so the fused dispatch keeps the device's fastest path).
bool stackable(const vk::DeviceInfo& d, std::initializer_list<const HostTensor*> parts) {
  const std::uint64_t align = std::max<std::uint64_t>(
      {16, d.min_storage_buffer_offset_alignment, d.min_texel_buffer_offset_alignment});
  std::uint64_t total = 0;
  for (const HostTensor* t : parts) {
    if (t->format != (*parts.begin())->format || t->cols != (*parts.begin())->cols) return false;
    if (total % align != 0) return false;
    total += t->rows * row_bytes(t->format, t->cols);
  }
  return (total + 15) / 16 * 16 <= d.max_storage_buffer_range;  // as matvec binds it: wide_load_bytes
}

}  // namespace

GpuWeights::GpuWeights(vk::Context& ctx, const HostWeights& host,
                       const std::function<void(std::uint64_t, std::uint64_t)>& progress,
                       ProjectionStacking stacking)
    : config_(host.config) {
  validate(host);
  std::uint64_t total = 0;
  auto count = [&](const HostTensor& t) { total += t.data.size(); };
  auto count_opt = [&](const std::optional<HostTensor>& t) {
    if (t) count(*t);
  };
  count(host.token_embd);
  count(host.output_norm);
  count_opt(host.output);
  count_opt(host.rope_freqs);
  for (const auto& l : host.layers) {
    for (const auto* t :
         {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down})
      count(*t);
    for (const auto* t : {&l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.attn_post_norm, &l.ffn_post_norm})
      count_opt(*t);
  }
  auto uploaded = [&](const HostTensor& t, const GpuTensor& g) {
    // The tensor's own bytes (validate() allows longer data): a stacked part must not spill into the next.
    const std::uint64_t bytes = t.rows * row_bytes(t.format, t.cols);
    ctx.upload(vk::BufferView(*g.storage, g.offset, bytes), t.data.first(bytes));
    bytes_ += bytes;
    if (progress) progress(bytes_, total);
  };
  auto up = [&](const HostTensor& t) {
    GpuTensor g = GpuTensor::create(ctx, t.format, t.rows, t.cols, t.rows * row_bytes(t.format, t.cols));
    uploaded(t, g);
    return g;
  };
  auto up_opt = [&](const std::optional<HostTensor>& t) -> std::optional<GpuTensor> {
    if (!t) return std::nullopt;
    return up(*t);
  };
  // The parts of a stack, uploaded into it one after another; nullopt (each part in a buffer of its own)
  // where they cannot be stacked.
  auto up_stack = [&](std::initializer_list<const HostTensor*> parts,
                      std::initializer_list<GpuTensor*> out) -> std::optional<GpuTensor> {
    auto out_it = out.begin();
    if (stacking == ProjectionStacking::separate || !stackable(ctx.info(), parts)) {
      for (const HostTensor* t : parts) **out_it++ = up(*t);
      return std::nullopt;
    }
    const HostTensor& first = **parts.begin();
    std::uint64_t rows = 0;
    for (const HostTensor* t : parts) rows += t->rows;
    GpuTensor whole =
        GpuTensor::create(ctx, first.format, rows, first.cols, rows * row_bytes(first.format, first.cols));
    std::uint64_t offset = 0;
    for (const HostTensor* t : parts) {
      GpuTensor& g = **out_it++;
      g = {t->format, t->rows, t->cols, whole.storage, offset};
      uploaded(*t, g);
      offset += t->rows * row_bytes(t->format, t->cols);
    }
    return whole;
  };
  token_embd_ = up(host.token_embd);
  output_norm_ = up(host.output_norm);
  output_ = up_opt(host.output);
  rope_freqs_ = up_opt(host.rope_freqs);
  for (const auto& l : host.layers) {
    GpuLayer g;
    g.attn_norm = up(l.attn_norm);
    g.wqkv = up_stack({&l.wq, &l.wk, &l.wv}, {&g.wq, &g.wk, &g.wv});
    g.wo = up(l.wo);
    g.ffn_norm = up(l.ffn_norm);
    g.w_gate_up = up_stack({&l.w_gate, &l.w_up}, {&g.w_gate, &g.w_up});
    g.w_down = up(l.w_down);
    g.bq = up_opt(l.bq);
    g.bk = up_opt(l.bk);
    g.bv = up_opt(l.bv);
    g.q_norm = up_opt(l.q_norm);
    g.k_norm = up_opt(l.k_norm);
    g.attn_post_norm = up_opt(l.attn_post_norm);
    g.ffn_post_norm = up_opt(l.ffn_post_norm);
    layers_.push_back(std::move(g));
  }
}

}  // namespace lagvk
