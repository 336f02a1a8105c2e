#pragma once
// How a weight-streaming kernel (matvec, matmul_rb) reaches its tensors, the one choice both make: texel
// views where the device prefers them (Context::texel_binding), else storage descriptors where the
// tensors fit them (Context::can_bind), else buffer device addresses. Each is its own shader variant
// (shaders/shaders.cmake): TEXEL_WEIGHTS, BOUND_WEIGHTS, or neither.
#include <optional>
#include <string_view>

#include "engine/vk/context.hpp"

namespace lagvk::ops {

enum class TensorAccess { address, storage, texel };

/// The shader variant suffix of each access path.
[[nodiscard]] constexpr std::string_view variant_suffix(TensorAccess access) {
  return access == TensorAccess::texel ? "_texel" : access == TensorAccess::storage ? "_bound" : "";
}

/// The two texel views a TEXEL_WEIGHTS kernel reads weights `w` through (shaders/common/weights.glsl):
/// 16-byte texels and 32-bit words of the same bytes, or nullopt when either cannot be made.
struct WeightTexels {
  vk::Binding texels, words;
};
[[nodiscard]] inline std::optional<WeightTexels> weight_texels(const vk::Context& ctx,
                                                               const vk::BufferView& w) {
  auto texels = ctx.texel_binding(w, vk::TexelFormat::u32x4);
  auto words = ctx.texel_binding(w, vk::TexelFormat::u32);
  if (!texels || !words) return std::nullopt;
  return WeightTexels{*texels, *words};
}

}  // namespace lagvk::ops
