#include "engine/model/model.hpp"

#include <algorithm>

#include <fmt/ranges.h>

#include "engine/core/error.hpp"
#include "engine/model/quant.hpp"

namespace lagvk {

std::vector<float> TensorView::to_float() const {
  return dequantize(type, data, std::size_t(n_elements()));
}

TensorView row_slice(const TensorView& t, std::uint64_t first, std::uint64_t count, std::string_view what) {
  const std::size_t row = row_bytes(t.type, std::size_t(t.row_length()));
  if (t.ne.size() != 2 || first + count > t.rows())
    fail("internal: rows {}..{} of {} which has {}", first, first + count, t.name, t.rows());
  TensorView v;
  v.name = fmt::format("{}[{}]", t.name, what);
  v.type = t.type;
  v.ne = {t.row_length(), count};
  v.data = t.data.subspan(std::size_t(first) * row, std::size_t(count) * row);
  return v;
}

std::optional<TensorView> rope_factors(const Model& model, std::uint32_t context) {
  const ModelWeights& w = model.weights();
  if (w.rope_freqs) return w.rope_freqs;
  if (!w.rope_factors_long) return std::nullopt;
  return context > model.config().rope_original_context() ? w.rope_factors_long : w.rope_factors_short;
}

Model Model::open(const std::string& path) {
  return from_gguf(GgufFile::open(path));
}

Model Model::from_gguf(GgufFile file) {
  auto config = read_model_config(file);
  Model m(std::move(file), std::move(config));
  m.bind_weights();
  return m;
}

Model::Model(GgufFile file, ModelConfig config) : file_(std::move(file)), config_(std::move(config)) {}

TensorView Model::tensor(std::string_view name) const {
  const auto* info = file_.find_tensor(name);
  if (!info) fail(Errc::bad_model_file, "'{}' lacks the tensor {}", file_.path(), name);
  return {info->name, info->type, info->dims, file_.tensor_data(*info)};
}

void Model::bind_weights() {
  const auto& c = config_;
  // Every expected tensor: present, the exact shape, and a type both the CPU reference and the GPU
  // kernels handle. Norms, biases and RoPE factors must be F32 (llama.cpp keeps them F32, and the GPU
  // kernels read them as F32), so a file with F16 norms is refused here rather than on the GPU.
  auto expect = [&](const std::string& name, std::vector<std::uint64_t> ne, bool f32_only) {
    const auto* info = file_.find_tensor(name);
    if (!info)
      fail(Errc::bad_model_file,
           "'{}' lacks the tensor {} that a {} model needs; the file is incomplete or not a {} model",
           file_.path(), name, c.arch, c.arch);
    if (info->dims != ne)
      fail(Errc::bad_model_file, "'{}': tensor {} has shape [{}] but this model's hyper-parameters need [{}]",
           file_.path(), name, fmt::join(info->dims, ", "), fmt::join(ne, ", "));
    if (!can_dequantize(info->type))
      fail(Errc::unsupported_model, "'{}': tensor {} is {}, which lagvk cannot decode yet (supported: {})",
           file_.path(), name, ggml_type_name(info->type), type_names(TypeList::readable));
    if (f32_only && info->type != GgmlType::f32)
      fail(Errc::unsupported_model, "'{}': tensor {} is {}; norms, biases and rope_freqs must be F32",
           file_.path(), name, ggml_type_name(info->type));
    return tensor(name);
  };
  auto optional = [&](const std::string& name, std::vector<std::uint64_t> ne, bool present) {
    return present ? std::optional<TensorView>(expect(name, std::move(ne), true)) : std::nullopt;
  };
  const std::uint64_t embd = c.n_embd, ff = c.n_ff, vocab = c.n_vocab, qd = c.q_dim(), kvd = c.kv_dim();
  weights_.token_embd = expect("token_embd.weight", {embd, vocab}, false);
  // q, k and v of block `b`: one attn_qkv tensor split by rows (phi3, nomic-bert), or three tensors.
  auto bind_qkv = [&](const std::string& b, LayerWeights& l) {
    if (c.traits.fused_qkv) {
      const TensorView qkv = expect(b + "attn_qkv.weight", {embd, qd + 2 * kvd}, false);
      l.wq = row_slice(qkv, 0, qd, "q");
      l.wk = row_slice(qkv, qd, kvd, "k");
      l.wv = row_slice(qkv, qd + kvd, kvd, "v");
    } else {
      l.wq = expect(b + "attn_q.weight", {embd, qd}, false);
      l.wk = expect(b + "attn_k.weight", {embd, kvd}, false);
      l.wv = expect(b + "attn_v.weight", {embd, kvd}, false);
    }
  };
  weights_.layers.clear();
  weights_.layers.reserve(c.n_layers);
  if (c.traits.layout == BlockLayout::bert_encoder) {
    // Names and placement as llama.cpp's converter writes BERT models (post-norm blocks).
    const std::uint64_t positions = c.n_ctx_train, types = std::max<std::uint64_t>(c.n_token_types, 1);
    weights_.position_embd = optional("position_embd.weight", {embd, positions}, c.traits.learned_positions);
    weights_.token_types = expect("token_types.weight", {embd, types}, true);
    weights_.token_embd_norm = expect("token_embd_norm.weight", {embd}, true);
    weights_.token_embd_norm_b = expect("token_embd_norm.bias", {embd}, true);
    for (std::uint32_t i = 0; i < c.n_layers; ++i) {
      const std::string b = fmt::format("blk.{}.", i);
      LayerWeights l;
      const bool bias = c.traits.qkv_bias;
      if (c.traits.fused_qkv) {
        // nomic-bert: biases on the fused projection or the output (variants lagvk does not run) would be
        // ignored silently, so a file with them is refused.
        for (const char* name : {"attn_qkv.bias", "attn_output.bias", "ffn_up.bias", "ffn_down.bias"})
          if (file_.find_tensor(b + name) != nullptr)
            fail(Errc::unsupported_model, "'{}': {}{} (a {} with biases) is not supported", file_.path(), b,
                 name, c.arch);
      }
      bind_qkv(b, l);
      l.wo = expect(b + "attn_output.weight", {qd, embd}, false);
      l.bq = optional(b + "attn_q.bias", {qd}, bias);
      l.bk = optional(b + "attn_k.bias", {kvd}, bias);
      l.bv = optional(b + "attn_v.bias", {kvd}, bias);
      l.bo = optional(b + "attn_output.bias", {embd}, bias);
      l.attn_out_norm = expect(b + "attn_output_norm.weight", {embd}, true);
      l.attn_out_norm_b = expect(b + "attn_output_norm.bias", {embd}, true);
      l.ffn_up = expect(b + "ffn_up.weight", {embd, ff}, false);
      if (c.traits.gated_encoder_ffn) l.ffn_gate = expect(b + "ffn_gate.weight", {embd, ff}, false);
      l.b_up = optional(b + "ffn_up.bias", {ff}, bias);
      l.ffn_down = expect(b + "ffn_down.weight", {ff, embd}, false);
      l.b_down = optional(b + "ffn_down.bias", {embd}, bias);
      l.out_norm = expect(b + "layer_output_norm.weight", {embd}, true);
      l.out_norm_b = expect(b + "layer_output_norm.bias", {embd}, true);
      weights_.layers.push_back(std::move(l));
    }
    return;
  }
  weights_.output_norm = expect("output_norm.weight", {embd}, true);
  weights_.output = c.tied_output ? weights_.token_embd : expect("output.weight", {embd, vocab}, false);
  if (c.has_rope_freqs) {
    weights_.rope_freqs = expect("rope_freqs.weight", {c.rope_dims / 2}, true);
  }
  if (c.has_longrope) {
    weights_.rope_factors_long = expect("rope_factors_long.weight", {c.rope_dims / 2}, true);
    weights_.rope_factors_short = expect("rope_factors_short.weight", {c.rope_dims / 2}, true);
  }
  for (std::uint32_t i = 0; i < c.n_layers; ++i) {
    const std::string b = fmt::format("blk.{}.", i);
    LayerWeights l;
    l.attn_norm = expect(b + "attn_norm.weight", {embd}, true);
    bind_qkv(b, l);
    l.wo = expect(b + "attn_output.weight", {qd, embd}, false);
    l.bq = optional(b + "attn_q.bias", {qd}, c.traits.qkv_bias);
    l.bk = optional(b + "attn_k.bias", {kvd}, c.traits.qkv_bias);
    l.bv = optional(b + "attn_v.bias", {kvd}, c.traits.qkv_bias);
    l.q_norm = optional(b + "attn_q_norm.weight", {c.head_dim}, c.traits.qk_norm);
    l.k_norm = optional(b + "attn_k_norm.weight", {c.head_dim}, c.traits.qk_norm);
    l.ffn_norm = expect(b + "ffn_norm.weight", {embd}, true);
    if (c.traits.fused_gate_up) {
      const TensorView gate_up = expect(b + "ffn_up.weight", {embd, 2 * ff}, false);
      l.ffn_gate = row_slice(gate_up, 0, ff, "gate");
      l.ffn_up = row_slice(gate_up, ff, ff, "up");
    } else {
      l.ffn_gate = expect(b + "ffn_gate.weight", {embd, ff}, false);
      l.ffn_up = expect(b + "ffn_up.weight", {embd, ff}, false);
    }
    l.ffn_down = expect(b + "ffn_down.weight", {ff, embd}, false);
    l.attn_post_norm = optional(b + "post_attention_norm.weight", {embd}, c.traits.post_norms);
    l.ffn_post_norm = optional(b + "post_ffw_norm.weight", {embd}, c.traits.post_norms);
    weights_.layers.push_back(std::move(l));
  }
}

}  // namespace lagvk
