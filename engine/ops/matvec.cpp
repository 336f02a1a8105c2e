#include "engine/ops/matvec.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Matvec;
// Rows per subgroup: each chunk of x a lane loads serves this many rows. Texel reads (CPU devices) pay
// as much for a 16-byte x fetch as for a weight fetch, so they take 8 rows (bench_matvec_paths 4096 x 4096
// on lavapipe, 8 rows against 4: f32 +20%, f16 +12%, q8_0 +15%, q4_0 +50%; 16 rows gained nothing more);
// the other paths 4 (measured on lavapipe's earlier paths; untested on GPUs). 8 subgroups per workgroup.
constexpr std::uint32_t kRowsPerSubgroup = 4;
constexpr std::uint32_t kTexelRowsPerSubgroup = 8;
constexpr std::uint32_t kSubgroupsPerGroup = 8;
constexpr double kMinLaneUse = 0.9;

/// Wide loads need K to be a multiple of the chunk and 16-byte aligned rows, x and norm weight (read like
/// x); quantized formats always satisfy the first and the host keeps activations and norms aligned.
bool wide_loads(WeightFormat format, const vk::BufferView& w, const vk::BufferView& x, std::uint32_t k,
                const std::optional<InputNorm>& norm) {
  return k % chunk_elements(format) == 0 && x.address() % 16 == 0 && w.address() % 16 == 0 &&
         (!norm || norm->weight.address() % 16 == 0);
}

/// The tensors of one dispatch: W (w_rows rows: n, or 2n for a gated epilogue), x, y (n) and the input
/// norm's weight, if any.
struct Tensors {
  WeightFormat format;
  vk::BufferView w, x, y;
  const std::optional<InputNorm>& norm;
  std::uint32_t w_rows, n, k;
};

/// The bytes of W, x, y and the norm's weight the kernel reads and writes (set 0, bindings 0, 1, 2, 3 of
/// the bound variant); without a norm, x stands in for its weight (the kernel does not read it then).
/// W's wide loads may read up to the next 16-byte boundary past its last row (Q6_K's 210-byte blocks are
/// read as words), so its binding extends there; a view too short for that stays on the address path.
std::optional<std::array<vk::BufferView, 4>> touched(const Tensors& t) {
  const std::uint64_t w_bytes = wide_load_bytes(t.format, t.w_rows, t.k);
  if (t.w.bytes < w_bytes) return std::nullopt;
  const std::uint64_t x_bytes = std::uint64_t(t.k) * 4;
  return std::array{t.w.sub(0, w_bytes), t.x.sub(0, x_bytes), t.y.sub(0, std::uint64_t(t.n) * 4),
                    (t.norm ? t.norm->weight : t.x).sub(0, x_bytes)};
}

/// The descriptors of the texel variant (shaders/matvec.comp): W as texels and words (bindings 0 and 3),
/// x and the norm's weight as vec4 texels (1 and 4), y as a storage buffer (2).
std::optional<std::array<vk::Binding, 5>> texel_bindings(const vk::Context& ctx, const Tensors& t) {
  const auto views = touched(t);
  if (!views) return std::nullopt;
  const auto weights = weight_texels(ctx, (*views)[0]);
  const auto xs = ctx.texel_binding((*views)[1], vk::TexelFormat::f32x4);
  // Without a norm its binding is x's view again: one lookup (each takes the buffer's lock).
  const auto gs = t.norm ? ctx.texel_binding((*views)[3], vk::TexelFormat::f32x4) : xs;
  if (!weights || !xs || !gs || !ctx.can_bind((*views)[2])) return std::nullopt;
  return std::array<vk::Binding, 5>{weights->texels, *xs, (*views)[2], weights->words, *gs};
}

/// The path a dispatch takes and the descriptors it binds (texel: 5, storage: 4, address: none), decided
/// once per dispatch: each texel view lookup takes the buffer's lock.
/// texel_groups: lanes take aligned runs of blocks (shaders/common/weight_groups.glsl), for rows that are
/// whole runs.
struct Plan {
  TensorAccess access = TensorAccess::address;
  std::array<vk::Binding, 5> bindings{vk::BufferView(), vk::BufferView(), vk::BufferView(), vk::BufferView(),
                                      vk::BufferView()};
  std::size_t count = 0;
  bool texel_groups = false;
};

/// Bindings 0, 1, 3 and 4 of the texel variant are texel views.
constexpr std::uint32_t kTexelBindingMask = 0b11011u;

Plan plan(const vk::Context& ctx, const Tensors& t) {
  if (t.n == 0 || !wide_loads(t.format, t.w, t.x, t.k, t.norm)) return {};
  if (ctx.texel_reads())
    if (const auto texels = texel_bindings(ctx, t)) {
      const std::uint32_t group = texel_group_blocks(t.format);
      return {TensorAccess::texel, *texels, 5, group != 0 && t.k % (group * block_elements(t.format)) == 0};
    }
  const auto views = touched(t);
  if (views && std::ranges::all_of(*views, [&](const vk::BufferView& v) { return ctx.can_bind(v); }))
    return {TensorAccess::storage, {(*views)[0], (*views)[1], (*views)[2], (*views)[3], vk::BufferView()}, 4};
  return {};
}

/// Rows a texel subgroup takes side by side (shaders/matvec.comp: ROW_SLOTS): the lanes per row are the
/// widest power of two up to the subgroup size with at least kMinLaneUse of them busy over the row's
/// chunks or groups (K = 576 is 18 Q4_1 blocks: 4 lanes per row, 2 rows side by side on 8 lanes; K =
/// 1024 is 4 Q8_0 groups: 4 lanes per row; K = 768, 3 groups: one lane per row). Only where the
/// pipeline gets exactly the subgroup size the host assumes.
std::uint32_t row_slots(const vk::Context& ctx, WeightFormat format, std::uint32_t k, bool texel_groups) {
  const std::uint32_t sg = ctx.info().subgroup_size;
  if (!ctx.info().subgroup_size_control || sg == 0) return 1;
  const std::uint32_t units =
      texel_groups ? k / (texel_group_blocks(format) * block_elements(format)) : k / chunk_elements(format);
  // Wider rows mean fewer streams per subgroup and a shorter reduction.
  for (std::uint32_t lanes = sg; lanes > 1; lanes /= 2)
    if (double(units) >= kMinLaneUse * double(ceil_div(units, lanes) * lanes)) return sg / lanes;
  return sg;
}

/// The weight rows a matvec of n outputs reads: a gated epilogue reads a gate row and an up row for each.
std::uint32_t weight_rows(std::uint32_t n, Epilogue epilogue) {
  return gated(epilogue) ? 2 * n : n;
}

std::string variant_name(WeightFormat format, const Plan& chosen, bool vec) {
  std::string name = "matvec_" + std::string(format_name(format));
  if (chosen.access != TensorAccess::address)
    return name + std::string(variant_suffix(chosen.access)) + (chosen.texel_groups ? "_groups" : "");
  return vec ? name + "_vec" : name;
}

}  // namespace

std::string matvec_variant(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                           const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k,
                           Epilogue epilogue, const std::optional<InputNorm>& norm) {
  return variant_name(format, plan(ctx, {format, w, x, y, norm, weight_rows(n, epilogue), n, k}),
                      wide_loads(format, w, x, k, norm));
}

TensorAccess matvec_access(const vk::Context& ctx, WeightFormat format, const vk::BufferView& w,
                           const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k,
                           Epilogue epilogue, const std::optional<InputNorm>& norm) {
  return plan(ctx, {format, w, x, y, norm, weight_rows(n, epilogue), n, k}).access;
}

void matvec(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& w,
            const vk::BufferView& x, const vk::BufferView& y, std::uint32_t n, std::uint32_t k,
            Epilogue epilogue, const std::optional<InputNorm>& norm) {
  if (k % block_elements(format) != 0)
    fail("matvec: row length {} is not a multiple of the {} block size {}", k, format_name(format),
         block_elements(format));
  if (n == 0) return;
  const std::uint32_t w_rows = weight_rows(n, epilogue);
  require_bytes("matvec", "W", w, std::uint64_t(w_rows) * row_bytes(format, k));
  require_bytes("matvec", "x", x, std::uint64_t(k) * 4);
  require_bytes("matvec", "y", y, std::uint64_t(n) * 4);
  if (norm) require_bytes("matvec", "the norm's weight", norm->weight, std::uint64_t(k) * 4);
  const bool quantized = block_elements(format) > 1;
  const bool vec = wide_loads(format, w, x, k, norm);
  if (quantized && !vec)
    fail("internal: matvec: quantized weights need 16-byte aligned x, W and norm weight");
  // Texel views, storage descriptors or addresses, as the device prefers and allows (tensor_access.hpp).
  const Plan chosen = plan(ctx, {format, w, x, y, norm, w_rows, n, k});
  const TensorAccess access = chosen.access;
  // Whole subgroups reduce without shared memory; the workgroup size must be a multiple of the subgroup
  // size the pipeline really gets, so it is requested explicitly where the device allows that.
  const std::uint32_t sg = std::max(ctx.info().subgroup_size, 1u);
  // A gated epilogue's output rows take two weight rows each: half as many keep the lanes' registers.
  const std::uint32_t rows =
      (access == TensorAccess::texel ? kTexelRowsPerSubgroup : kRowsPerSubgroup) / (gated(epilogue) ? 2 : 1);
  const std::uint32_t subgroups = kSubgroupsPerGroup;
  const std::uint32_t slots =
      access == TensorAccess::texel ? row_slots(ctx, format, k, chosen.texel_groups) : 1;
  const std::string variant = variant_name(format, chosen, vec);
  const auto& pipeline = ctx.pipeline({variant,
                                       {rows, sg * subgroups, slots, std::uint32_t(epilogue), norm ? 1u : 0u},
                                       sizeof(Push),
                                       ctx.info().subgroup_size_control ? sg : 0,
                                       std::uint32_t(chosen.count),
                                       access == TensorAccess::texel ? kTexelBindingMask : 0u});
  const Grid g = grid_1d(ctx.info(), ceil_div(n, rows * slots * subgroups));
  const vk::BufferView& g_view = norm ? norm->weight : x;
  const Push push{w.address(), x.address(), y.address(), g_view.address(), n, k, norm ? norm->eps : 0.0f};
  // Accumulating also reads y: a write already waits for every earlier access to it.
  const std::initializer_list<vk::Access> accesses{vk::reads(w), vk::reads(x), vk::reads(g_view),
                                                   vk::writes(y)};
  if (chosen.count)
    cs.dispatch_bound(pipeline, push, std::span(chosen.bindings.data(), chosen.count), g.x, g.y, 1, "matvec",
                      accesses);
  else
    cs.dispatch(pipeline, push, g.x, g.y, 1, "matvec", accesses);
}

}  // namespace lagvk::ops
