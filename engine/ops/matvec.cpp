#include "engine/ops/matvec.hpp"

#include "engine/ops/dispatch.hpp"

#include <algorithm>

namespace lagvk::ops {

namespace {
struct Push {
  VkDeviceAddress w, x, y;
  std::uint32_t n, k;
};
constexpr std::uint32_t kRowsPerGroup = 2;

// Elements per wide load of the vectorised variants (shaders/common/weights.glsl: CHUNK).
constexpr std::uint32_t vector_chunk(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32:
      return 4;
    case WeightFormat::f16:
      return 8;
    default:
      return 32;
  }
}
}  // namespace

void matvec(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& w,
            const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k) {
  if (k % block_elements(format) != 0)
    fail("matvec: row length {} is not a multiple of the {} block size {}", k, format_name(format),
         block_elements(format));
  if (n == 0) return;
  require_bytes("matvec", "W", w, std::uint64_t(n) * row_bytes(format, k));
  require_bytes("matvec", "x", x, std::uint64_t(k) * 4);
  require_bytes("matvec", "y", y, std::uint64_t(n) * 4);
  // Wide loads need K to be a multiple of the chunk and 16-byte aligned rows and x; quantized formats
  // always satisfy the first and the host keeps activations aligned.
  const bool quantized = block_elements(format) > 1;
  const bool vec = k % vector_chunk(format) == 0 && x.address() % 16 == 0 && w.address() % 16 == 0;
  if (quantized && !vec) fail("internal: matvec: quantized weights need 16-byte aligned x and W");
  // One subgroup per workgroup: the reduction needs no shared memory or barrier.
  const std::uint32_t threads = std::max(ctx.info().subgroup_size, 1u);
  const auto& pipeline = ctx.pipeline({"matvec_" + std::string(format_name(format)) + (vec ? "_vec" : ""),
                                       {kRowsPerGroup, threads},
                                       sizeof(Push)});
  const Grid g = grid_1d(ctx.info(), ceil_div(n, kRowsPerGroup));
  cs.dispatch(pipeline, Push{w.address(), x.address(), y.address(), n, k}, g.x, g.y, 1, "matvec");
}

}  // namespace lagvk::ops
