#include "engine/ops/matmul.hpp"

#include <array>
#include <optional>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Matmul;
constexpr std::uint32_t kTileM = 64, kTileN = 64, kTileK = 16;

/// The bytes of b the register-blocked kernel reads, or nullopt when the view is shorter than that.
std::optional<vk::BufferView> touched(WeightFormat format, const vk::BufferView& b, std::uint32_t n,
                                      std::uint32_t k) {
  const std::uint64_t bytes = wide_load_bytes(format, n, k);
  if (b.bytes < bytes) return std::nullopt;
  return b.sub(0, bytes);
}

/// The texel variant's bindings: B as texels and words (0, 1), A as vec4 texels (2).
std::optional<std::array<vk::Binding, 3>> texel_bindings(const vk::Context& ctx, WeightFormat format,
                                                         const vk::BufferView& a, const vk::BufferView& b,
                                                         const MatmulShape& s) {
  const auto view = touched(format, b, s.n, s.k);
  if (!view || !ctx.texel_reads()) return std::nullopt;
  const std::uint32_t a_stride = s.a_stride ? s.a_stride : s.k;
  const std::uint64_t a_bytes = (std::uint64_t(s.m - 1) * a_stride + s.k) * 4;
  const auto weights = weight_texels(ctx, *view);
  const auto as =
      a.bytes >= a_bytes ? ctx.texel_binding(a.sub(0, a_bytes), vk::TexelFormat::f32x4) : std::nullopt;
  if (!weights || !as) return std::nullopt;
  return std::array<vk::Binding, 3>{weights->texels, weights->words, *as};
}

/// The path a register-blocked dispatch takes and its descriptors (texel: 3, storage: 1, address: none),
/// decided once per dispatch: each texel view lookup takes the buffer's lock.
struct Plan {
  TensorAccess access = TensorAccess::address;
  std::array<vk::Binding, 3> bindings{vk::BufferView(), vk::BufferView(), vk::BufferView()};
  std::size_t count = 0;
};

Plan plan(const vk::Context& ctx, WeightFormat format, const vk::BufferView& a, const vk::BufferView& b,
          const MatmulShape& s) {
  const auto view = touched(format, b, s.n, s.k);
  if (!view || s.m == 0) return {};
  if (const auto texels = texel_bindings(ctx, format, a, b, s)) return {TensorAccess::texel, *texels, 3};
  if (ctx.can_bind(*view)) return {TensorAccess::storage, {*view, vk::BufferView(), vk::BufferView()}, 1};
  return {};
}

}  // namespace

TensorAccess matmul_access(const vk::Context& ctx, WeightFormat format, const vk::BufferView& a,
                           const vk::BufferView& b, const MatmulShape& s) {
  return plan(ctx, format, a, b, s).access;
}

void matmul(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& a,
            const vk::BufferView& b, const vk::BufferView& c, const MatmulShape& s) {
  const std::uint32_t a_stride = s.a_stride ? s.a_stride : s.k;
  const std::uint32_t c_stride = s.c_stride ? s.c_stride : s.n;
  if (s.k % block_elements(format) != 0)
    fail("matmul: inner dimension {} is not a multiple of the {} block size {}", s.k, format_name(format),
         block_elements(format));
  if (gated(s.epilogue)) fail("internal: matmul has no gated epilogue (matrix-vector only)");
  if (s.m == 0 || s.n == 0) return;
  require_bytes("matmul", "A", a, (std::uint64_t(s.m - 1) * a_stride + s.k) * 4);
  require_bytes("matmul", "B", b, std::uint64_t(s.n) * row_bytes(format, s.k));
  require_bytes("matmul", "C", c, (std::uint64_t(s.m - 1) * c_stride + s.n) * 4);
  // Accumulating also reads C: a write already waits for every earlier access to it.
  const std::initializer_list<vk::Access> accesses{vk::reads(a), vk::reads(b), vk::writes(c)};
  // The register-blocked kernel reads A by vec4 and B by whole chunks: it needs K a multiple of the chunk,
  // 16-byte aligned rows of A and B, and is chosen on CPU devices (measured there: 8-10x the tiled one).
  const bool rb_possible = s.k % chunk_elements(format) == 0 && a_stride % 4 == 0 && a.address() % 16 == 0 &&
                           b.address() % 16 == 0 && (format != WeightFormat::f32 || s.k % 4 == 0);
  bool rb = s.kernel == MatmulKernel::register_blocked ||
            (s.kernel == MatmulKernel::automatic && ctx.info().type == "cpu" && rb_possible);
  if (rb && !rb_possible) fail("internal: matmul: shapes do not allow the register-blocked kernel");
  if (rb) {
    // Tall blocks waste work on short prompts (rows past M repeat the last row): shrink them there.
    const std::uint32_t tm = s.m >= 16 ? 16 : (s.m >= 8 ? 8 : 4), tn = 32, threads = 8;
    // B through texel views or a storage descriptor where the device prefers and allows, else its address.
    const Plan chosen = plan(ctx, format, a, b, s);
    const auto& p = ctx.pipeline(
        {"matmul_rb_" + std::string(format_name(format)) + std::string(variant_suffix(chosen.access)),
         {threads, tm, tn, std::uint32_t(s.epilogue)},
         sizeof(Push),
         0,
         std::uint32_t(chosen.count),
         chosen.access == TensorAccess::texel ? 0b111u : 0u});
    const Push push{a.address(), b.address(), c.address(), s.m, s.n, s.k, a_stride, c_stride};
    const std::uint32_t gx = std::uint32_t(ceil_div(ceil_div(s.n, tn), threads)),
                        gy = std::uint32_t(ceil_div(s.m, tm));
    if (chosen.count) {
      cs.dispatch_bound(p, push, std::span(chosen.bindings.data(), chosen.count), gx, gy, 1, "matmul",
                        accesses);
    } else {
      cs.dispatch(p, push, gx, gy, 1, "matmul", accesses);
    }
    return;
  }
  const auto& pipeline =
      ctx.pipeline({"matmul_" + std::string(format_name(format)),
                    {kTileM, kTileN, kTileK, (kTileM / 4) * (kTileN / 4), std::uint32_t(s.epilogue)},
                    sizeof(Push)});
  const Push push{a.address(), b.address(), c.address(), s.m, s.n, s.k, a_stride, c_stride};
  cs.dispatch(pipeline, push, std::uint32_t(ceil_div(s.n, kTileN)), std::uint32_t(ceil_div(s.m, kTileM)), 1,
              "matmul", accesses);
}

}  // namespace lagvk::ops
