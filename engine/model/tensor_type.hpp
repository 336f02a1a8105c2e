#pragma once
// ggml tensor element types as GGUF files store them. The numeric ids are part of the file format
// (ggml's enum ggml_type) and must never change.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lagvk {

enum class GgmlType : std::uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q8_0 = 8,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  bf16 = 30,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;        ///< "F32", "Q4_0": ggml's spelling
  std::size_t block_size;       ///< elements per block (1 for plain float types)
  std::size_t bytes_per_block;  ///< storage of one block
};

/// Layout of a type lagvk knows, or nullopt for an id it does not (foreign or future ggml types).
[[nodiscard]] std::optional<GgmlTypeInfo> ggml_type_info(std::uint32_t id);

/// Layout of a known type (never fails for an enumerator).
[[nodiscard]] const GgmlTypeInfo& type_info(GgmlType type);

/// "F32", "Q4_0", ...; for unknown ids ggml's name when we know it ("Q2_K"), else "type <id>".
[[nodiscard]] std::string ggml_type_name(std::uint32_t id);
[[nodiscard]] inline std::string ggml_type_name(GgmlType type) {
  return ggml_type_name(static_cast<std::uint32_t>(type));
}

/// Parses "f32", "F16", "q8_0", ... (case-insensitive); nullopt when not a type lagvk supports.
[[nodiscard]] std::optional<GgmlType> parse_ggml_type(std::string_view name);

/// Bytes of a row of n elements; n must be a multiple of the block size (fails otherwise).
[[nodiscard]] std::size_t row_bytes(GgmlType type, std::size_t n);

/// True for the types whose rows are stored in blocks with a shared scale (everything but F32/F16/BF16).
[[nodiscard]] bool is_quantized(GgmlType type);

}  // namespace lagvk
