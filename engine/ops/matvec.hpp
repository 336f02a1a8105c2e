#pragma once
// Host wrapper of shaders/matvec.comp: y = W x (decode).
#include <cstdint>
#include <string>

#include "engine/ops/epilogue.hpp"
#include "engine/ops/tensor_access.hpp"
#include "engine/ops/weight_format.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// How matvec reads these tensors (tensor_access.hpp): descriptors need wide loads to be possible and
/// every tensor accepted by the device (W and x as texels, or W, x and y as storage buffers).
[[nodiscard]] TensorAccess matvec_access(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                                         const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n,
                                         std::uint32_t k, Epilogue epilogue = Epilogue::store);

/// The shader variant matvec dispatches for these tensors ("matvec_q8_0_texel_groups").
[[nodiscard]] std::string matvec_variant(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                                         const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n,
                                         std::uint32_t k, Epilogue epilogue = Epilogue::store);

/// w: N x K weights in `format`, x: K fp32, y: N fp32; y = W x, or y += W x (Epilogue::accumulate). A gated
/// epilogue (swiglu, geglu) reads 2N x K weights, gate rows then up rows, and writes N gated outputs.
void matvec(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& w,
            const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k,
            Epilogue epilogue = Epilogue::store);

}  // namespace lagvk::ops
