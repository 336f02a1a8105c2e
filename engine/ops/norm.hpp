#pragma once
// Host wrappers of shaders/rmsnorm.comp and shaders/layernorm.comp.
#include <cstdint>

#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// y = x / sqrt(mean(x^2) + eps) * weight per row of `dim` floats; y may alias x.
void rmsnorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
             const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim, float eps);

/// y = (x - mean) / sqrt(variance + eps) * weight + bias per row of `dim` floats (BERT's LayerNorm);
/// y may alias x.
void layernorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
               const vk::BufferView& bias, const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim,
               float eps);

}  // namespace lagvk::ops
