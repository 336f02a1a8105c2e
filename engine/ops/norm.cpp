#include "engine/ops/norm.hpp"

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Rmsnorm;
constexpr std::uint32_t kNormThreads = 64;
}  // namespace

void rmsnorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
             const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim, float eps) {
  if (rows == 0) return;
  require_bytes("rmsnorm", "x", x, std::uint64_t(rows) * dim * 4);
  require_bytes("rmsnorm", "weight", weight, std::uint64_t(dim) * 4);
  require_bytes("rmsnorm", "y", y, std::uint64_t(rows) * dim * 4);
  const auto& pipeline = ctx.pipeline({"rmsnorm", {kNormThreads}, sizeof(Push)});
  const Grid g = grid_1d(ctx.info(), rows);
  cs.dispatch(pipeline, Push{x.address(), weight.address(), y.address(), rows, dim, eps}, g.x, g.y, 1,
              "rmsnorm", {vk::reads(x), vk::reads(weight), vk::writes(y)});
}

void layernorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
               const vk::BufferView& bias, const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim,
               float eps) {
  if (rows == 0) return;
  require_bytes("layernorm", "x", x, std::uint64_t(rows) * dim * 4);
  require_bytes("layernorm", "weight", weight, std::uint64_t(dim) * 4);
  require_bytes("layernorm", "bias", bias, std::uint64_t(dim) * 4);
  require_bytes("layernorm", "y", y, std::uint64_t(rows) * dim * 4);
  const auto& pipeline = ctx.pipeline({"layernorm", {kNormThreads}, sizeof(push::Layernorm)});
  const Grid g = grid_1d(ctx.info(), rows);
  cs.dispatch(pipeline,
              push::Layernorm{x.address(), weight.address(), bias.address(), y.address(), rows, dim, eps},
              g.x, g.y, 1, "layernorm", {vk::reads(x), vk::reads(weight), vk::reads(bias), vk::writes(y)});
}

}  // namespace lagvk::ops
