#pragma once
// What a store's KV pages depend on. A store is never spliced into a model it was not made with: opening
// it with a different fingerprint fails with a message naming both.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace lagvk::logstore {

struct Fingerprint {
  std::string model_name;      ///< general.name, for messages
  std::string model_hash;      ///< content hash of the weights and metadata (hex)
  std::string tokenizer_hash;  ///< hash of the vocabulary (hex)
  std::uint32_t layers = 0, kv_heads = 0, head_dim = 0, page_tokens = 0;
  std::string kv_dtype = "f16";  ///< element type of the KV cache the pages were computed in (how a store
                                 ///< encodes its pages is its page codec, not part of the fingerprint)
  std::string rope_mode;         ///< "normal" or "neox"
  double rope_base = 0, rope_scale = 1;

  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
  /// The model, its KV shape and rope in a line for messages; with `page_codec` (a store's), also how its
  /// pages are stored.
  [[nodiscard]] std::string describe(std::string_view page_codec = {}) const;
  /// Throws lagvk::Error naming the first field outside its sane range: zero or huge dimensions (a
  /// page_tokens of 0 would divide by zero, 2^32-1 would overflow page sizes), a page larger than 256 MiB,
  /// hashes that are not hex, an unknown kv_dtype or rope_mode, a rope base or scale that is not a positive
  /// finite number. Fingerprints read from a store or an export archive are validated before use.
  void validate() const;
};

/// Bounds of a valid fingerprint (generous: far above any real model).
inline constexpr std::uint32_t kMaxLayers = 4096, kMaxKvHeads = 4096, kMaxHeadDim = 65536,
                               kMaxPageTokens = 65536;
inline constexpr std::uint64_t kMaxPageBytes = 256ull << 20;

/// Who made a store's dense retrieval vectors: the store's own model (its mean final hidden state, how
/// every store was embedded before embedding models) or a separate embedding model, named by the content
/// hashes of its file as Fingerprint names the generator. Vectors of two embedders cannot be compared, so
/// a store refuses to add or search with another one than made its vectors.
struct EmbedderFingerprint {
  static constexpr const char* kGenerator = "generator";
  static constexpr const char* kModel = "model";
  std::string kind = kGenerator;  ///< kGenerator or kModel; the fields below are for kModel only
  std::string model_name;         ///< general.name, for messages
  std::string model_hash, tokenizer_hash;
  std::uint32_t dim = 0;  ///< the vectors' dimension
  std::string pooling;    ///< how token vectors become one ("mean", "cls", "last")

  friend bool operator==(const EmbedderFingerprint&, const EmbedderFingerprint&) = default;
  /// "the store's own model (its mean hidden state)" or "embedding model NAME (model HASH, 384 dims, mean
  /// pooling)", for messages.
  [[nodiscard]] std::string describe() const;
  /// Throws lagvk::Error (Errc::bad_input) naming the first field out of range: an unknown kind, or a
  /// model without hex hashes or with a dimension of 0.
  void validate() const;
};

void to_json(nlohmann::json& j, const Fingerprint& f);
/// Strict: a field of the wrong JSON type or out of its type's range is a lagvk::Error naming it (missing
/// fields keep their defaults; validate() then judges the values).
void from_json(const nlohmann::json& j, Fingerprint& f);
void to_json(nlohmann::json& j, const EmbedderFingerprint& f);
/// Strict as Fingerprint's; validate() judges the values.
void from_json(const nlohmann::json& j, EmbedderFingerprint& f);

}  // namespace lagvk::logstore
