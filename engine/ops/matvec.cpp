#include "engine/ops/matvec.hpp"

#include <algorithm>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Matvec;
// Measured on lavapipe (bench_model decode): 4 rows per subgroup, 8 subgroups per workgroup.
constexpr std::uint32_t kRowsPerSubgroup = 4;
constexpr std::uint32_t kSubgroupsPerGroup = 8;

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
  const bool vec = k % chunk_elements(format) == 0 && x.address() % 16 == 0 && w.address() % 16 == 0;
  if (quantized && !vec) fail("internal: matvec: quantized weights need 16-byte aligned x and W");
  // Whole subgroups reduce without shared memory; the workgroup size must be a multiple of the subgroup
  // size the pipeline really gets, so it is requested explicitly where the device allows that.
  const std::uint32_t sg = std::max(ctx.info().subgroup_size, 1u);
  const std::uint32_t rows = kRowsPerSubgroup;
  const std::uint32_t subgroups = kSubgroupsPerGroup;
  std::string variant = "matvec_" + std::string(format_name(format)) + (vec ? "_vec" : "");
  const auto& pipeline = ctx.pipeline(
      {variant, {rows, sg * subgroups}, sizeof(Push), ctx.info().subgroup_size_control ? sg : 0});
  const Grid g = grid_1d(ctx.info(), ceil_div(n, rows * subgroups));
  cs.dispatch(pipeline, Push{w.address(), x.address(), y.address(), n, k}, g.x, g.y, 1, "matvec",
              {vk::reads(w), vk::reads(x), vk::writes(y)});
}

}  // namespace lagvk::ops
