#include "engine/forward/model_weights.hpp"

#include "engine/core/error.hpp"

namespace lagvk {

WeightFormat weight_format(GgmlType type, const std::string& tensor) {
  if (!has_gpu_kernels(type))
    fail(Errc::unsupported_model,
         "tensor {} has type {}, which lagvk's GPU kernels do not support yet (supported: {})", tensor,
         ggml_type_name(type), type_names(TypeList::gpu));
  return type;
}

namespace {

HostTensor host(const TensorView& t) {
  HostTensor h;
  h.name = t.name;
  h.format = weight_format(t.type, t.name);
  h.rows = t.rows();
  h.cols = t.row_length();
  h.data = std::as_bytes(t.data);
  return h;
}

std::optional<HostTensor> host(const std::optional<TensorView>& t) {
  if (!t) return std::nullopt;
  return host(*t);
}

}  // namespace

HostWeights host_weights(const Model& model, std::uint32_t context) {
  const ModelConfig& m = model.config();
  const ModelWeights& w = model.weights();
  if (m.traits.layout != BlockLayout::decoder)
    fail(Errc::unsupported_model,
         "'{}' is an encoder embedding model ({}), not a decoder; it runs through "
         "EncoderForward",
         model.gguf().path(), m.arch);
  if (m.value_dim != 0 && m.value_dim != m.head_dim)
    fail(Errc::unsupported_model,
         "model has value length {} different from key length {}; lagvk supports equal lengths only",
         m.value_dim, m.head_dim);
  HostWeights h;
  auto& c = h.config;
  c.layers = m.n_layers;
  c.dim = m.n_embd;
  c.heads = m.n_head;
  c.kv_heads = m.n_head_kv;
  c.head_dim = m.head_dim;
  c.ff = m.n_ff;
  c.vocab = m.n_vocab;
  c.context = m.n_ctx_train;
  c.norm_eps = m.rms_eps;
  const ref::RopeParams rope = m.rope_params();
  c.rope_mode = rope.mode;
  c.rope_dims = std::uint32_t(rope.rot_dims);
  c.rope_base = rope.freq_base;
  c.rope_scale = rope.freq_scale;
  const ArchTraits& traits = arch_traits(m.arch);
  c.qkv_bias = traits.qkv_bias;
  c.qk_norm = traits.qk_norm;
  c.geglu = traits.ffn_activation == FfnActivation::gelu;
  c.scale_embeddings = traits.scale_embeddings;
  c.post_norms = traits.post_norms;
  c.attn_scale = m.attn_scale;
  c.attn_softcap = m.attn_softcap;
  c.final_softcap = m.final_softcap;
  c.sliding_window = m.sliding_window;
  c.swa_period = traits.swa_period;
  c.swa_rope_base = traits.swa_rope_base;

  h.token_embd = host(w.token_embd);
  h.output_norm = host(w.output_norm);
  if (!m.tied_output) h.output = host(w.output);
  h.rope_freqs = host(rope_factors(model, context ? context : m.n_ctx_train));
  for (const auto& l : w.layers) {
    HostLayer hl{
        host(l.attn_norm),    host(l.wq),       host(l.wk),     host(l.wv),       host(l.wo),
        host(l.ffn_norm),     host(l.ffn_gate), host(l.ffn_up), host(l.ffn_down), host(l.bq),
        host(l.bk),           host(l.bv),       host(l.q_norm), host(l.k_norm),   host(l.attn_post_norm),
        host(l.ffn_post_norm)};
    h.layers.push_back(std::move(hl));
  }
  return h;
}

}  // namespace lagvk
