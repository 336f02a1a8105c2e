#include "engine/ops/matvec.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Matvec;
// Measured on lavapipe (bench_model decode): 4 rows per subgroup, 8 subgroups per workgroup.
constexpr std::uint32_t kRowsPerSubgroup = 4;
constexpr std::uint32_t kSubgroupsPerGroup = 8;

/// Wide loads need K to be a multiple of the chunk and 16-byte aligned rows and x; quantized formats
/// always satisfy the first and the host keeps activations aligned.
bool wide_loads(WeightFormat format, const vk::BufferView& w, const vk::BufferView& x, std::uint32_t k) {
  return k % chunk_elements(format) == 0 && x.address() % 16 == 0 && w.address() % 16 == 0;
}

/// The bytes of W, x and y the kernel reads and writes (set 0, bindings 0, 1, 2 of the bound variant).
/// W's wide loads may read up to the next 16-byte boundary past its last row (Q6_K's 210-byte blocks are
/// read as words), so its binding extends there; a view too short for that stays on the address path.
std::optional<std::array<vk::BufferView, 3>> touched(WeightFormat format, const vk::BufferView& w,
                                                     const vk::BufferView& x, const vk::BufferView& y,
                                                     std::uint32_t n, std::uint32_t k) {
  const std::uint64_t w_bytes = (std::uint64_t(n) * row_bytes(format, k) + 15) / 16 * 16;
  if (w.bytes < w_bytes) return std::nullopt;
  return std::array{w.sub(0, w_bytes), x.sub(0, std::uint64_t(k) * 4), y.sub(0, std::uint64_t(n) * 4)};
}

}  // namespace

bool matvec_binds(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                  const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k) {
  if (n == 0 || !wide_loads(format, w, x, k)) return false;
  const auto views = touched(format, w, x, y, n, k);
  return views && std::ranges::all_of(*views, [&](const vk::BufferView& v) { return ctx.can_bind(v); });
}

void matvec(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& w,
            const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k) {
  if (k % block_elements(format) != 0)
    fail("matvec: row length {} is not a multiple of the {} block size {}", k, format_name(format),
         block_elements(format));
  if (n == 0) return;
  require_bytes("matvec", "W", w, std::uint64_t(n) * row_bytes(format, k));
  require_bytes("matvec", "x", x, std::uint64_t(k) * 4);
  require_bytes("matvec", "y", y, std::uint64_t(n) * 4);
  const bool quantized = block_elements(format) > 1;
  const bool vec = wide_loads(format, w, x, k);
  if (quantized && !vec) fail("internal: matvec: quantized weights need 16-byte aligned x and W");
  // W, x and y through descriptors where the device allows (Context::can_bind), else their addresses.
  const bool bound = matvec_binds(ctx, format, w, x, y, n, k);
  // Whole subgroups reduce without shared memory; the workgroup size must be a multiple of the subgroup
  // size the pipeline really gets, so it is requested explicitly where the device allows that.
  const std::uint32_t sg = std::max(ctx.info().subgroup_size, 1u);
  const std::uint32_t rows = kRowsPerSubgroup;
  const std::uint32_t subgroups = kSubgroupsPerGroup;
  const std::string variant = "matvec_" + std::string(format_name(format)) +
                              (bound ? "_bound"
                               : vec ? "_vec"
                                     : "");
  const auto& pipeline = ctx.pipeline({variant,
                                       {rows, sg * subgroups},
                                       sizeof(Push),
                                       ctx.info().subgroup_size_control ? sg : 0,
                                       bound ? 3u : 0u});
  const Grid g = grid_1d(ctx.info(), ceil_div(n, rows * subgroups));
  const Push push{w.address(), x.address(), y.address(), n, k};
  if (bound)
    cs.dispatch_bound(pipeline, push, *touched(format, w, x, y, n, k), g.x, g.y, 1, "matvec",
                      {vk::reads(w), vk::reads(x), vk::writes(y)});
  else
    cs.dispatch(pipeline, push, g.x, g.y, 1, "matvec", {vk::reads(w), vk::reads(x), vk::writes(y)});
}

}  // namespace lagvk::ops
