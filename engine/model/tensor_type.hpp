#pragma once
// ggml tensor element types as GGUF files store them, and the traits of each (engine/model/weight_types.def
// is the one list). The numeric ids are part of the file format (ggml's enum ggml_type) and must never
// change.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lagvk {

enum class GgmlType : std::uint32_t {
#define LAGVK_WEIGHT_TYPE(enumerator, id, name, block, bytes, chunk, writable, ftype) enumerator = id,
#include "engine/model/weight_types.def"
#undef LAGVK_WEIGHT_TYPE
};

/// Everything lagvk knows about one weight format (see weight_types.def for the meaning of each field).
struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  ///< "F32", "Q4_0": ggml's spelling, used in messages and `--type`
  std::string_view
      lower_name;          ///< "f32", "q4_0": `--type` spelling and kernel variant suffix ("matvec_q4_0")
  std::size_t block_size;  ///< elements per block (1 for plain float types)
  std::size_t bytes_per_block;    ///< storage of one block
  std::uint32_t chunk_elements;   ///< elements per wide load of the vectorised kernels; 0: no GPU kernels
  bool writable;                  ///< quantize_row encodes it, so make-model can write it
  std::uint32_t llama_file_type;  ///< general.file_type of a file whose matrices are all this type
};

/// Every format, in weight_types.def's order.
inline constexpr std::array kGgmlTypes = {
#define LAGVK_WEIGHT_TYPE(enumerator, id, name, block, bytes, chunk, writable, ftype) \
  GgmlTypeInfo{GgmlType::enumerator, #name, #enumerator, block, bytes, chunk, writable != 0, ftype},
#include "engine/model/weight_types.def"
#undef LAGVK_WEIGHT_TYPE
};

/// Layout of a type lagvk knows, or nullopt for an id it does not (foreign or future ggml types).
[[nodiscard]] std::optional<GgmlTypeInfo> ggml_type_info(std::uint32_t id);

/// How a ggml type stores its elements.
struct GgmlBlockLayout {
  std::size_t block_size;       ///< elements per block
  std::size_t bytes_per_block;  ///< storage of one block
};
/// The block layout of any ggml type whose layout the GGUF format defines, including types lagvk cannot
/// decode (IQ2_XXS, IQ3_S, ...), so that files holding them can be described; nullopt for ids without
/// a defined layout (removed or future types).
[[nodiscard]] std::optional<GgmlBlockLayout> ggml_block_layout(std::uint32_t id);

/// Traits of a known type (never fails for an enumerator).
[[nodiscard]] constexpr const GgmlTypeInfo& type_info(GgmlType type) {
  for (const auto& t : kGgmlTypes)
    if (t.type == type) return t;
  return kGgmlTypes[0];  // unreachable: every enumerator has an entry
}

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

/// True when the GPU kernels (matmul, matvec, embedding) have variants for the type.
[[nodiscard]] constexpr bool has_gpu_kernels(GgmlType type) {
  return type_info(type).chunk_elements > 0;
}

/// Which formats a message lists.
enum class TypeList {
  readable,       ///< every format lagvk decodes ("F32, F16, ...")
  gpu,            ///< formats with GPU kernels
  writable_lower  ///< formats make-model writes, lower case as `--type` takes them ("f32, f16, ...")
};
/// The names of a list of formats, comma-separated, for error messages and help texts.
[[nodiscard]] std::string type_names(TypeList list);

}  // namespace lagvk
