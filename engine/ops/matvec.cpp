#include "engine/ops/matvec.hpp"

#include "engine/ops/dispatch.hpp"

namespace lagvk::ops {

namespace {
struct Push {
  VkDeviceAddress w, x, y;
  std::uint32_t n, k;
};
constexpr std::uint32_t kRowsPerGroup = 2;
constexpr std::uint32_t kThreads = 64;
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
  const auto& pipeline =
      ctx.pipeline({"matvec_" + std::string(format_name(format)), {kRowsPerGroup, kThreads}, sizeof(Push)});
  const Grid g = grid_1d(ctx.info(), ceil_div(n, kRowsPerGroup));
  cs.dispatch(pipeline, Push{w.address(), x.address(), y.address(), n, k}, g.x, g.y, 1, "matvec");
}

}  // namespace lagvk::ops
