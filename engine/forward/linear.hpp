#pragma once
// The one projection both forward passes (decoder and encoder) record: y = x W^T for n rows of x, by
// matrix-vector for one row (decode) and matrix multiply otherwise (prefill, encoding).
#include <cstdint>

#include "engine/forward/gpu_weights.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk {

void linear(vk::Context& ctx, vk::CommandStream& cs, const GpuTensor& w, const vk::BufferView& x,
            const vk::BufferView& y, std::uint32_t n);

}  // namespace lagvk
