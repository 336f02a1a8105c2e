#include "engine/ops/norm.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Rmsnorm;
constexpr std::uint32_t kNormThreads = 64;
}  // namespace

std::optional<std::array<vk::Binding, 2>> rmsnorm_texels(const vk::Context& ctx, const vk::BufferView& x,
                                                         const vk::BufferView& weight, std::uint32_t rows,
                                                         std::uint32_t dim) {
  if (!ctx.texel_reads() || rows == 0 || dim == 0) return std::nullopt;
  const auto xs = ctx.texel_binding(x.sub(0, std::uint64_t(rows) * dim * 4), vk::TexelFormat::u32);
  const auto ws = ctx.texel_binding(weight.sub(0, std::uint64_t(dim) * 4), vk::TexelFormat::u32);
  if (!xs || !ws) return std::nullopt;
  return std::array<vk::Binding, 2>{*xs, *ws};
}

void rmsnorm(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& weight,
             const vk::BufferView& y, std::uint32_t rows, std::uint32_t dim, float eps) {
  if (rows == 0) return;
  require_bytes("rmsnorm", "x", x, std::uint64_t(rows) * dim * 4);
  require_bytes("rmsnorm", "weight", weight, std::uint64_t(dim) * 4);
  require_bytes("rmsnorm", "y", y, std::uint64_t(rows) * dim * 4);
  const Grid g = grid_1d(ctx.info(), rows);
  const Push push{x.address(), weight.address(), y.address(), rows, dim, eps};
  const std::initializer_list<vk::Access> accesses{vk::reads(x), vk::reads(weight), vk::writes(y)};
  if (const auto texels = rmsnorm_texels(ctx, x, weight, rows, dim)) {
    // One subgroup per row: its size is requested where the device allows (the kernel reduces with
    // subgroupAdd alone).
    const std::uint32_t sg = std::max(ctx.info().subgroup_size, 1u);
    const auto& pipeline = ctx.pipeline(
        {"rmsnorm_texel", {sg}, sizeof(Push), ctx.info().subgroup_size_control ? sg : 0, 2u, 0b11u});
    cs.dispatch_bound(pipeline, push, *texels, g.x, g.y, 1, "rmsnorm", accesses);
    return;
  }
  const auto& pipeline = ctx.pipeline({"rmsnorm", {kNormThreads}, sizeof(Push)});
  cs.dispatch(pipeline, push, g.x, g.y, 1, "rmsnorm", accesses);
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
