#pragma once
// The one projection both forward passes (decoder and encoder) record: y = x W^T for n rows of x, by
// matrix-vector for one row (decode) and matrix multiply otherwise (prefill, encoding); with
// Epilogue::accumulate, y += x W^T (a residual connection without a separate add); with a gated epilogue
// (one row only: W holds gate rows then up rows), y = act(x Wg^T) (x Wu^T); with an input norm (one row
// only), x is RMS-normalised first in the same dispatch.
#include <cstdint>
#include <optional>

#include "engine/forward/gpu_weights.hpp"
#include "engine/ops/epilogue.hpp"
#include "engine/ops/input_norm.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk {

void linear(vk::Context& ctx, vk::CommandStream& cs, const GpuTensor& w, const vk::BufferView& x,
            const vk::BufferView& y, std::uint32_t n, ops::Epilogue epilogue = ops::Epilogue::store,
            const std::optional<ops::InputNorm>& norm = std::nullopt);

}  // namespace lagvk
