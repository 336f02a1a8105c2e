#pragma once
// Host wrapper of shaders/rope.comp: rotary position embedding, in place, forward or inverse.
#include <cstdint>
#include <optional>

#include "engine/ref/ops.hpp"
#include "engine/vk/command_stream.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::ops {

struct RopeArgs {
  ref::RopeMode mode = ref::RopeMode::normal;
  std::uint32_t rot_dims = 0;  ///< 0 means head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  std::optional<vk::BufferView> factors;  ///< rot_dims/2 fp32 frequency divisors (llama3 rope_freqs)
  bool inverse = false;                   ///< remove the rotation instead of applying it
};

/// The leading dimensions of each head that `args` rotates (rot_dims, 0 meaning head_dim); fails, naming
/// `op`, unless they are even and at most head_dim.
[[nodiscard]] std::uint32_t rotated_dims(const RopeArgs& args, std::uint32_t head_dim, const char* op);

/// Rotates x (tokens x heads x head_dim fp32; consecutive tokens token_stride floats apart, 0 meaning
/// heads * head_dim) in place; token t sits at positions[t] (int32).
void rope(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& positions,
          std::uint32_t tokens, std::uint32_t heads, std::uint32_t head_dim, const RopeArgs& args,
          std::uint32_t token_stride = 0);

}  // namespace lagvk::ops
