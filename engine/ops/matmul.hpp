#pragma once
// Host wrapper of shaders/matmul.comp: C = A * B^T (prefill).
#include <cstdint>
#include <optional>

#include "engine/ops/epilogue.hpp"
#include "engine/ops/tensor_access.hpp"
#include "engine/ops/weight_format.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

enum class MatmulKernel {
  automatic,         ///< register_blocked on CPU devices when shapes allow, tiled otherwise
  tiled,             ///< shared-memory tiles (matmul.comp): GPUs
  register_blocked,  ///< per-invocation register blocks (matmul_rb.comp): CPU implementations
};

struct MatmulShape {
  std::uint32_t m = 0, n = 0, k = 0;
  std::uint32_t a_stride = 0;  ///< floats between rows of A; 0 means k
  std::uint32_t c_stride = 0;  ///< floats between rows of C; 0 means n
  MatmulKernel kernel = MatmulKernel::automatic;
  Epilogue epilogue = Epilogue::store;  ///< accumulate: C += A * B^T
};

/// How the register-blocked kernel reads the N x K weights b (tensor_access.hpp): through texel views
/// (with A: a's rows as vec4 texels) or a storage descriptor of b's bytes up to the next 16 (its wide
/// loads may reach there), as the device prefers and allows, else through their addresses.
[[nodiscard]] TensorAccess matmul_access(const vk::Context& ctx, WeightFormat format, const vk::BufferView& a,
                                         const vk::BufferView& b, const MatmulShape& shape);

/// a: M x K fp32, b: N x K weights in `format`, c: M x N fp32.
void matmul(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& a,
            const vk::BufferView& b, const vk::BufferView& c, const MatmulShape& shape);

}  // namespace lagvk::ops
