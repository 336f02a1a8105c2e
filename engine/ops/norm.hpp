#pragma once
// Host wrappers of shaders/rmsnorm.comp and shaders/layernorm.comp.
#include <array>
#include <cstdint>
#include <optional>

#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// The texel views rmsnorm reads x and weight through (its one-subgroup TEXEL_READS variant) where the
/// device prefers texel reads and both can be made (Context::texel_binding), else nullopt (the views
/// must hold rows x dim and dim floats).
[[nodiscard]] std::optional<std::array<vk::Binding, 2>> rmsnorm_texels(const vk::Context& ctx,
                                                                       const vk::BufferView& x,
                                                                       const vk::BufferView& weight,
                                                                       std::uint32_t rows, std::uint32_t dim);

/// y = x / sqrt(mean(x^2) + eps) * weight per row of `dim` floats; y may alias x.
void rmsnorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
             const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim, float eps);

/// y = (x - mean) / sqrt(variance + eps) * weight + bias per row of `dim` floats (BERT's LayerNorm);
/// y may alias x.
void layernorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
               const vk::BufferView& bias, const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim,
               float eps);

}  // namespace lagvk::ops
