#include "logstore/fingerprint.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lagvk::logstore {

std::string Fingerprint::describe() const {
  return fmt::format(
      "{} (model {}, tokenizer {}, {} layers x {} kv heads x {} dims, {} tokens/page, {} pages, rope {} "
      "base {} scale {})",
      model_name.empty() ? "unnamed model" : model_name, model_hash.substr(0, 12),
      tokenizer_hash.substr(0, 12), layers, kv_heads, head_dim, page_tokens, kv_dtype, rope_mode, rope_base,
      rope_scale);
}

void to_json(nlohmann::json& j, const Fingerprint& f) {
  j = {{"model_name", f.model_name},   {"model_hash", f.model_hash}, {"tokenizer_hash", f.tokenizer_hash},
       {"layers", f.layers},           {"kv_heads", f.kv_heads},     {"head_dim", f.head_dim},
       {"page_tokens", f.page_tokens}, {"kv_dtype", f.kv_dtype},     {"rope_mode", f.rope_mode},
       {"rope_base", f.rope_base},     {"rope_scale", f.rope_scale}};
}

void from_json(const nlohmann::json& j, Fingerprint& f) {
  f.model_name = j.value("model_name", "");
  f.model_hash = j.value("model_hash", "");
  f.tokenizer_hash = j.value("tokenizer_hash", "");
  f.layers = j.value("layers", 0u);
  f.kv_heads = j.value("kv_heads", 0u);
  f.head_dim = j.value("head_dim", 0u);
  f.page_tokens = j.value("page_tokens", 0u);
  f.kv_dtype = j.value("kv_dtype", "f16");
  f.rope_mode = j.value("rope_mode", "");
  f.rope_base = j.value("rope_base", 0.0);
  f.rope_scale = j.value("rope_scale", 1.0);
}

}  // namespace lagvk::logstore
