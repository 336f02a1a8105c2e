#pragma once
// Host wrappers of shaders/elementwise.comp: add (with a repeating second operand for biases), SwiGLU,
// GELU, GeGLU, scaling by a constant and soft-capping.
#include <cstdint>

#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

/// Whether these operands are read as texels (CPU devices: Context::texel_binding), else through their
/// addresses; the same for every operation of this file.
[[nodiscard]] bool elementwise_reads_texels(const vk::Context& ctx, const vk::BufferView& a,
                                            const vk::BufferView& b, std::uint32_t n,
                                            std::uint32_t b_period = 0);

/// out[i] = a[i] + b[i % b_period] for i < n (b_period 0 means n); out may alias a.
void add(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& a, const vk::BufferView& b,
         const vk::BufferView& out, std::uint32_t n, std::uint32_t b_period = 0);

/// out[i] = silu(gate[i]) * up[i] for i < n; out may alias gate.
void swiglu(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& gate, const vk::BufferView& up,
            const vk::BufferView& out, std::uint32_t n);

/// out[i] = gelu(x[i]) for i < n (the tanh approximation, as llama.cpp's ggml_gelu); out may alias x.
void gelu(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& out,
          std::uint32_t n);

/// out[i] = gelu(gate[i]) * up[i] for i < n (gemma's gated feed-forward); out may alias gate.
void geglu(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& gate, const vk::BufferView& up,
           const vk::BufferView& out, std::uint32_t n);

/// out[i] = x[i] * factor for i < n; out may alias x.
void scale(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& out,
           std::uint32_t n, float factor);

/// out[i] = cap * tanh(x[i] / cap) for i < n (logit soft-capping; cap > 0); out may alias x.
void softcap(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& out,
             std::uint32_t n, float cap);

}  // namespace lagvk::ops
