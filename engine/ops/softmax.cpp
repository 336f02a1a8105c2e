#include "engine/ops/softmax.hpp"

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Softmax;
}  // namespace

void softmax(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& y,
             std::uint32_t rows, std::uint32_t cols, float scale) {
  if (rows == 0 || cols == 0) return;
  require_bytes("softmax", "x", x, std::uint64_t(rows) * cols * 4);
  require_bytes("softmax", "y", y, std::uint64_t(rows) * cols * 4);
  const auto& pipeline = ctx.pipeline({"softmax", {64}, sizeof(Push)});
  const Grid g = grid_1d(ctx.info(), rows);
  cs.dispatch(pipeline, Push{x.address(), y.address(), rows, cols, scale}, g.x, g.y, 1, "softmax",
              {vk::reads(x), vk::writes(y)});
}

}  // namespace lagvk::ops
