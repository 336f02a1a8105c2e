#pragma once
// The formats a weight matrix can have on the GPU. Every matrix kernel (matmul, matvec, embedding) has
// one shader variant per format and dequantizes on the fly.
#include <cstdint>
#include <string_view>

#include "engine/core/error.hpp"

namespace lagvk {

enum class WeightFormat { f32, f16, q8_0, q4_0 };

[[nodiscard]] constexpr std::string_view format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32:
      return "f32";
    case WeightFormat::f16:
      return "f16";
    case WeightFormat::q8_0:
      return "q8_0";
    case WeightFormat::q4_0:
      return "q4_0";
  }
  return "?";
}

/// Elements per block (1 for unquantized formats).
[[nodiscard]] constexpr std::uint32_t block_elements(WeightFormat f) {
  return f == WeightFormat::q8_0 || f == WeightFormat::q4_0 ? 32 : 1;
}

/// Elements per wide load of the vectorised kernel variants (shaders/common/weights.glsl: CHUNK): a vec4
/// of f32, eight halves, one quantized block. Rows whose length is not a multiple use scalar variants.
[[nodiscard]] constexpr std::uint32_t chunk_elements(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32:
      return 4;
    case WeightFormat::f16:
      return 8;
    default:
      return 32;
  }
}

/// Bytes of one row of k elements; k must be a multiple of block_elements(f).
[[nodiscard]] constexpr std::uint64_t row_bytes(WeightFormat f, std::uint64_t k) {
  switch (f) {
    case WeightFormat::f32:
      return 4 * k;
    case WeightFormat::f16:
      return 2 * k;
    case WeightFormat::q8_0:
      return k / 32 * 34;
    case WeightFormat::q4_0:
      return k / 32 * 18;
  }
  return 0;
}

}  // namespace lagvk
