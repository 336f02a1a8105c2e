#pragma once
// Host wrapper of shaders/softmax.comp.
#include <cstdint>

#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// Row-wise softmax of x * scale over rows x cols fp32; y may alias x.
void softmax(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& y,
             std::uint32_t rows, std::uint32_t cols, float scale = 1.0f);

}  // namespace lagvk::ops
