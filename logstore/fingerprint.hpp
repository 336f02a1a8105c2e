#pragma once
// What a store's KV pages depend on. A store is never spliced into a model it was not made with: opening
// it with a different fingerprint fails with a message naming both.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace lagvk::logstore {

struct Fingerprint {
  std::string model_name;      ///< general.name, for messages
  std::string model_hash;      ///< content hash of the weights and metadata (hex)
  std::string tokenizer_hash;  ///< hash of the vocabulary (hex)
  std::uint32_t layers = 0, kv_heads = 0, head_dim = 0, page_tokens = 0;
  std::string kv_dtype = "f16";  ///< element type of stored pages
  std::string rope_mode;         ///< "normal" or "neox"
  double rope_base = 0, rope_scale = 1;

  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
  [[nodiscard]] std::string describe() const;
};

void to_json(nlohmann::json& j, const Fingerprint& f);
void from_json(const nlohmann::json& j, Fingerprint& f);

}  // namespace lagvk::logstore
