#include "engine/ops/rope.hpp"

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Rope;
constexpr std::uint32_t kThreads = 64;
}  // namespace

std::uint32_t rotated_dims(const RopeArgs& args, std::uint32_t head_dim, const char* op) {
  const std::uint32_t rot = args.rot_dims ? args.rot_dims : head_dim;
  if (rot % 2 != 0 || rot > head_dim)
    fail("{}: rotated dimensions {} must be even and at most {}", op, rot, head_dim);
  return rot;
}

void rope(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& positions,
          std::uint32_t tokens, std::uint32_t heads, std::uint32_t head_dim, const RopeArgs& args,
          std::uint32_t token_stride) {
  const std::uint32_t rot = rotated_dims(args, head_dim, "rope");
  if (tokens == 0) return;
  const std::uint32_t stride = token_stride ? token_stride : heads * head_dim;
  require_bytes("rope", "x", x, (std::uint64_t(tokens - 1) * stride + std::uint64_t(heads) * head_dim) * 4);
  require_bytes("rope", "positions", positions, std::uint64_t(tokens) * 4);
  if (args.factors) require_bytes("rope", "factors", *args.factors, std::uint64_t(rot / 2) * 4);
  const auto& pipeline = ctx.pipeline({"rope", {kThreads}, sizeof(Push)});
  const Push push{x.address(),
                  positions.address(),
                  args.factors ? args.factors->address() : 0,
                  tokens,
                  heads,
                  head_dim,
                  rot,
                  stride,
                  static_cast<std::uint32_t>(args.mode),
                  args.factors ? 1u : 0u,
                  args.inverse ? 1u : 0u,
                  args.freq_base,
                  args.freq_scale};
  const Grid g = grid_1d(ctx.info(), ceil_div(std::uint64_t(tokens) * heads * (rot / 2), kThreads));
  if (args.factors)
    cs.dispatch(pipeline, push, g.x, g.y, 1, "rope",
                {vk::reads(x), vk::writes(x), vk::reads(positions), vk::reads(*args.factors)});
  else
    cs.dispatch(pipeline, push, g.x, g.y, 1, "rope", {vk::reads(x), vk::writes(x), vk::reads(positions)});
}

}  // namespace lagvk::ops
