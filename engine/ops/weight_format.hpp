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

/// Blocks in the shortest run of a 32-element block format's blocks that fills whole 16-byte texels (8
/// for Q8_0's 34-byte blocks, 4 for Q4_1's 20); 0 for other formats. Texel-reading matvec kernels give
/// each lane such runs when rows are whole runs (shaders/common/weight_groups.glsl, which derives the same
/// number from the block size).
[[nodiscard]] constexpr std::uint32_t texel_group_blocks(WeightFormat f) {
  if (block_elements(f) != 32) return 0;
  const auto bytes = static_cast<std::uint32_t>(type_info(f).bytes_per_block);
  return bytes % 16 == 0 ? 1 : bytes % 8 == 0 ? 2 : bytes % 4 == 0 ? 4 : 8;
}

/// The bytes of `rows` rows of `k` elements up to the next 16-byte boundary: what the kernels' wide loads
/// read of a tensor, and so what they bind (Q6_K's 210-byte blocks are read as words past the last row).
[[nodiscard]] inline std::uint64_t wide_load_bytes(WeightFormat f, std::uint64_t rows, std::uint64_t k) {
  return (rows * row_bytes(f, k) + 15) / 16 * 16;
}

}  // namespace lagvk
