#pragma once
// The formats a weight matrix can have on the GPU. Every matrix kernel (matmul, matvec, embedding) has
// one shader variant per format and dequantizes on the fly.
#include <cstdint>
#include <string_view>

#include "engine/core/error.hpp"

namespace lagvk {

enum class WeightFormat { f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k };

[[nodiscard]] constexpr std::string_view format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32:
      return "f32";
    case WeightFormat::f16:
      return "f16";
    case WeightFormat::bf16:
      return "bf16";
    case WeightFormat::q8_0:
      return "q8_0";
    case WeightFormat::q4_0:
      return "q4_0";
    case WeightFormat::q4_k:
      return "q4_k";
    case WeightFormat::q5_k:
      return "q5_k";
    case WeightFormat::q6_k:
      return "q6_k";
  }
  return "?";
}

/// Elements per block (1 for unquantized formats; K-quants have 256-element super-blocks).
[[nodiscard]] constexpr std::uint32_t block_elements(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32:
    case WeightFormat::f16:
    case WeightFormat::bf16:
      return 1;
    case WeightFormat::q8_0:
    case WeightFormat::q4_0:
      return 32;
    case WeightFormat::q4_k:
    case WeightFormat::q5_k:
    case WeightFormat::q6_k:
      return 256;
  }
  return 1;
}

/// Elements per wide load of the vectorised kernel variants (shaders/common/weights.glsl: CHUNK): a vec4
/// of f32, eight halves (f16, bf16), one Q8_0/Q4_0 block, two K-quant sub-blocks. Rows whose length is not a
/// multiple use scalar variants.
[[nodiscard]] constexpr std::uint32_t chunk_elements(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32:
      return 4;
    case WeightFormat::f16:
    case WeightFormat::bf16:
      return 8;
    case WeightFormat::q8_0:
    case WeightFormat::q4_0:
      return 32;
    case WeightFormat::q4_k:  // a pair of 32-element sub-blocks sharing their packed bytes
    case WeightFormat::q5_k:
    case WeightFormat::q6_k:
      return 64;
  }
  return 1;
}

/// Bytes of one row of k elements; k must be a multiple of block_elements(f).
[[nodiscard]] constexpr std::uint64_t row_bytes(WeightFormat f, std::uint64_t k) {
  switch (f) {
    case WeightFormat::f32:
      return 4 * k;
    case WeightFormat::f16:
    case WeightFormat::bf16:
      return 2 * k;
    case WeightFormat::q8_0:
      return k / 32 * 34;
    case WeightFormat::q4_0:
      return k / 32 * 18;
    case WeightFormat::q4_k:  // {f16 d, f16 dmin, u8 scales[12], u8 qs[128]}
      return k / 256 * 144;
    case WeightFormat::q5_k:  // {f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]}
      return k / 256 * 176;
    case WeightFormat::q6_k:  // {u8 ql[128], u8 qh[64], i8 scales[16], f16 d}
      return k / 256 * 210;
  }
  return 0;
}

}  // namespace lagvk
