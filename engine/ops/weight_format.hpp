#pragma once
// The formats a weight matrix can have on the GPU: the ggml types whose traits (engine/model/
// weight_types.def) name a kernel chunk. Every matrix kernel (matmul, matvec, embedding) has one shader
// variant per format and dequantizes on the fly.
#include <cstdint>
#include <string_view>

#include "engine/model/tensor_type.hpp"

namespace lagvk {

/// A weight format is the ggml type of the stored bytes; kernels exist for those with has_gpu_kernels().
using WeightFormat = GgmlType;

/// Suffix of the format's kernel variants ("q4_k" in "matvec_q4_k").
[[nodiscard]] constexpr std::string_view format_name(WeightFormat f) {
  return type_info(f).lower_name;
}

/// Elements per block (1 for unquantized formats; K-quants have 256-element super-blocks).
[[nodiscard]] constexpr std::uint32_t block_elements(WeightFormat f) {
  return static_cast<std::uint32_t>(type_info(f).block_size);
}

/// Elements per wide load of the vectorised kernel variants (shaders/common/weights.glsl: CHUNK): a vec4
/// of f32, eight halves (f16, bf16), one 32-element block, two K-quant sub-blocks. Rows whose length is
/// not a multiple use scalar variants.
[[nodiscard]] constexpr std::uint32_t chunk_elements(WeightFormat f) {
  return type_info(f).chunk_elements;
}

}  // namespace lagvk
