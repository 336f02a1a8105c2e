#pragma once
// Host wrapper of shaders/matvec.comp: y = W x (decode).
#include <cstdint>
#include <optional>
#include <string>

#include "engine/ops/epilogue.hpp"
#include "engine/ops/input_norm.hpp"
#include "engine/ops/tensor_access.hpp"
#include "engine/ops/weight_format.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// How matvec reads these tensors (tensor_access.hpp): descriptors need wide loads to be possible and
/// every tensor accepted by the device (W, x and the norm's weight as texels, or W, x, y and the norm's
/// weight as storage buffers).
[[nodiscard]] TensorAccess matvec_access(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                                         const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n,
                                         std::uint32_t k, Epilogue epilogue = Epilogue::store,
                                         const std::optional<InputNorm>& norm = std::nullopt);

/// The shader variant matvec dispatches for these tensors ("matvec_q8_0_texel_groups").
[[nodiscard]] std::string matvec_variant(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                                         const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n,
                                         std::uint32_t k, Epilogue epilogue = Epilogue::store,
                                         const std::optional<InputNorm>& norm = std::nullopt);

/// w: N x K weights in `format`, x: K fp32, y: N fp32; y = W x, or y += W x (Epilogue::accumulate). A gated
/// epilogue (swiglu, geglu) reads 2N x K weights, gate rows then up rows, and writes N gated outputs.
/// With `norm`, x is RMS-normalised first (input_norm.hpp): x itself is left as it is.
void matvec(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& w,
            const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k,
            Epilogue epilogue = Epilogue::store, const std::optional<InputNorm>& norm = std::nullopt);

}  // namespace lagvk::ops
