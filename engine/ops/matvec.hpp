#pragma once
// Host wrapper of shaders/matvec.comp: y = W x (decode).
#include <cstdint>

#include "engine/ops/weight_format.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// Whether matvec reads these tensors through descriptors (the BOUND_WEIGHTS variant) rather than
/// their addresses: wide loads possible and every tensor accepted by Context::can_bind.
[[nodiscard]] bool matvec_binds(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                                const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n,
                                std::uint32_t k);

/// w: N x K weights in `format`, x: K fp32, y: N fp32.
void matvec(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& w,
            const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k);

}  // namespace lagvk::ops
