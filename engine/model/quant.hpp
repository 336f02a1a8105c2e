#pragma once
// Conversion between float rows and ggml's storage formats, byte-exact with ggml's reference
// (non-SIMD) quantizers so that files written here and by llama.cpp mean the same numbers.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/tensor_type.hpp"

namespace lagvk {

/// Q8_0 block: x[i] = d * qs[i]. 34 bytes.
struct BlockQ8_0 {
  std::uint16_t d;  ///< fp16 scale
  std::int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

/// Q4_0 block: element j (0..15) is the low nibble of qs[j], element j + 16 the high nibble;
/// x = d * (q - 8). 18 bytes.
struct BlockQ4_0 {
  std::uint16_t d;
  std::uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

/// True when quantize_row supports the type (the traits' `writable`: the float types and the quants
/// whose encoders exist; K-quant and IQ4 blocks follow ggml's layout but their scales come from lagvk's
/// own least-squares search, engine/model/quant_search.hpp, not llama-quantize's).
[[nodiscard]] bool can_quantize(GgmlType type);
/// True when dequantize_row supports the type: every type in weight_types.def.
[[nodiscard]] bool can_dequantize(GgmlType type);

/// Encodes src into dst (exactly row_bytes(type, src.size()) bytes). Fails for unsupported types or
/// lengths that are not a multiple of the block size.
void quantize_row(GgmlType type, std::span<const float> src, std::span<std::uint8_t> dst);

/// Decodes src (exactly row_bytes(type, dst.size()) bytes) into dst.
void dequantize_row(GgmlType type, std::span<const std::uint8_t> src, std::span<float> dst);

/// Convenience: a whole tensor of n elements (a large one encoded on every hardware thread, with the
/// same bytes).
[[nodiscard]] std::vector<std::uint8_t> quantize(GgmlType type, std::span<const float> src);
[[nodiscard]] std::vector<float> dequantize(GgmlType type, std::span<const std::uint8_t> src, std::size_t n);

/// bfloat16 with round-to-nearest-even (NaN stays a quiet NaN), as ggml converts.
[[nodiscard]] std::uint16_t float_to_bf16(float v);
[[nodiscard]] float bf16_to_float(std::uint16_t v);

}  // namespace lagvk
