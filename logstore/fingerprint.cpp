#include "logstore/fingerprint.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace lagvk::logstore {

namespace {

constexpr std::size_t kMaxHashChars = 128;

bool is_hex(const std::string& s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

void check_dimension(const char* name, std::uint32_t value, std::uint32_t max) {
  if (value == 0 || value > max)
    fail(Errc::bad_input, "fingerprint: {} is {}; it must be between 1 and {}", name, value, max);
}

void check_hash(const char* name, const std::string& value) {
  if (value.empty() || value.size() > kMaxHashChars || !is_hex(value))
    fail(Errc::bad_input, "fingerprint: {} must be 1 to {} hex digits", name, kMaxHashChars);
}

void check_positive(const char* name, double value) {
  if (!std::isfinite(value) || value <= 0)
    fail(Errc::bad_input, "fingerprint: {} is {}; it must be a positive finite number", name, value);
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_string()) fail(Errc::bad_input, "fingerprint: '{}' must be a string", key);
  return it->get<std::string>();
}

std::uint32_t u32_field(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  const bool in_range = it->is_number_unsigned()
                            ? it->get<std::uint64_t>() <= std::numeric_limits<std::uint32_t>::max()
                            : it->is_number_integer() && it->get<std::int64_t>() >= 0;
  if (!in_range) fail(Errc::bad_input, "fingerprint: '{}' must be an integer from 0 to 2^32-1", key);
  return std::uint32_t(it->get<std::uint64_t>());
}

double number_field(const nlohmann::json& j, const char* key, double fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number()) fail(Errc::bad_input, "fingerprint: '{}' must be a number", key);
  return it->get<double>();
}

}  // namespace

std::string Fingerprint::describe(std::string_view page_codec) const {
  // kv_dtype is what the pages were computed in; only the store knows how it encodes them.
  const std::string pages = page_codec.empty()
                                ? fmt::format("{} KV", kv_dtype)
                                : fmt::format("{} KV stored as {} pages", kv_dtype, page_codec);
  return fmt::format(
      "{} (model {}, tokenizer {}, {} layers x {} kv heads x {} dims, {} tokens/page, {}, rope {} base {} "
      "scale {})",
      model_name.empty() ? "unnamed model" : model_name, model_hash.substr(0, 12),
      tokenizer_hash.substr(0, 12), layers, kv_heads, head_dim, page_tokens, pages, rope_mode, rope_base,
      rope_scale);
}

void Fingerprint::validate() const {
  check_hash("model_hash", model_hash);
  check_hash("tokenizer_hash", tokenizer_hash);
  check_dimension("layers", layers, kMaxLayers);
  check_dimension("kv_heads", kv_heads, kMaxKvHeads);
  check_dimension("head_dim", head_dim, kMaxHeadDim);
  check_dimension("page_tokens", page_tokens, kMaxPageTokens);
  // K and V of one page, fp16.
  const std::uint64_t page_bytes = std::uint64_t(page_tokens) * kv_heads * head_dim * 2 * 2;
  if (page_bytes > kMaxPageBytes)
    fail(Errc::bad_input,
         "fingerprint: a page of {} tokens x {} kv heads x {} dims would take {} MiB (at most {} MiB)",
         page_tokens, kv_heads, head_dim, page_bytes >> 20, kMaxPageBytes >> 20);
  if (kv_dtype != "f16")
    fail(Errc::bad_input, "fingerprint: kv_dtype '{}' is not known (only f16)", kv_dtype);
  if (rope_mode != "normal" && rope_mode != "neox")
    fail(Errc::bad_input, "fingerprint: rope_mode '{}' is not known (normal or neox)", rope_mode);
  check_positive("rope_base", rope_base);
  check_positive("rope_scale", rope_scale);
}

void to_json(nlohmann::json& j, const Fingerprint& f) {
  j = {{"model_name", f.model_name},   {"model_hash", f.model_hash}, {"tokenizer_hash", f.tokenizer_hash},
       {"layers", f.layers},           {"kv_heads", f.kv_heads},     {"head_dim", f.head_dim},
       {"page_tokens", f.page_tokens}, {"kv_dtype", f.kv_dtype},     {"rope_mode", f.rope_mode},
       {"rope_base", f.rope_base},     {"rope_scale", f.rope_scale}};
}

void from_json(const nlohmann::json& j, Fingerprint& f) {
  if (!j.is_object()) fail(Errc::bad_input, "fingerprint: must be a JSON object");
  f.model_name = string_field(j, "model_name", "");
  f.model_hash = string_field(j, "model_hash", "");
  f.tokenizer_hash = string_field(j, "tokenizer_hash", "");
  f.layers = u32_field(j, "layers");
  f.kv_heads = u32_field(j, "kv_heads");
  f.head_dim = u32_field(j, "head_dim");
  f.page_tokens = u32_field(j, "page_tokens");
  f.kv_dtype = string_field(j, "kv_dtype", "f16");
  f.rope_mode = string_field(j, "rope_mode", "");
  f.rope_base = number_field(j, "rope_base", 0.0);
  f.rope_scale = number_field(j, "rope_scale", 1.0);
}

std::string EmbedderFingerprint::describe() const {
  if (kind == kGenerator) return "the store's own model (its mean final hidden state)";
  return fmt::format("embedding model {} (model {}, tokenizer {}, {} dims, {} pooling)",
                     model_name.empty() ? "(unnamed)" : model_name, model_hash.substr(0, 12),
                     tokenizer_hash.substr(0, 12), dim, pooling.empty() ? "unknown" : pooling);
}

void EmbedderFingerprint::validate() const {
  if (kind == kGenerator) return;
  if (kind != kModel)
    fail(Errc::bad_input, "embedder fingerprint: kind '{}' is not known ({} or {})", kind, kGenerator,
         kModel);
  check_hash("embedder model_hash", model_hash);
  check_hash("embedder tokenizer_hash", tokenizer_hash);
  check_dimension("embedder dim", dim, kMaxHeadDim);
}

void to_json(nlohmann::json& j, const EmbedderFingerprint& f) {
  if (f.kind == EmbedderFingerprint::kGenerator) {
    j = {{"kind", f.kind}};
    return;
  }
  j = {{"kind", f.kind},
       {"model_name", f.model_name},
       {"model_hash", f.model_hash},
       {"tokenizer_hash", f.tokenizer_hash},
       {"dim", f.dim},
       {"pooling", f.pooling}};
}

void from_json(const nlohmann::json& j, EmbedderFingerprint& f) {
  if (!j.is_object()) fail(Errc::bad_input, "embedder fingerprint: must be a JSON object");
  f.kind = string_field(j, "kind", EmbedderFingerprint::kGenerator);
  f.model_name = string_field(j, "model_name", "");
  f.model_hash = string_field(j, "model_hash", "");
  f.tokenizer_hash = string_field(j, "tokenizer_hash", "");
  f.dim = u32_field(j, "dim");
  f.pooling = string_field(j, "pooling", "");
}

}  // namespace lagvk::logstore
