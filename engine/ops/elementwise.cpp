#include "engine/ops/elementwise.hpp"

#include <array>
#include <cmath>
#include <optional>
#include <string>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Elementwise;
constexpr std::uint32_t kThreads = 64;

/// The elements `a` and `b` the kernel reads, as 32-bit texels (bindings 0 and 1 of the TEXEL_READS
/// variants), or nullopt where texel reads are not preferred or a view cannot be made.
std::optional<std::array<vk::Binding, 2>> texels(const vk::Context& ctx, const Push& push,
                                                 const vk::BufferView& a, const vk::BufferView& b) {
  if (!ctx.texel_reads()) return std::nullopt;
  const auto as = ctx.texel_binding(a.sub(0, std::uint64_t(push.n) * 4), vk::TexelFormat::u32);
  const auto bs = ctx.texel_binding(b.sub(0, std::uint64_t(push.b_period) * 4), vk::TexelFormat::u32);
  if (!as || !bs) return std::nullopt;
  return std::array<vk::Binding, 2>{*as, *bs};
}

/// `a` and `b` are read (b may stand in for an operand the kernel ignores; its first b_period elements),
/// `out` written.
void run(vk::Context& ctx, vk::CommandStream& cs, const char* shader, const Push& push,
         const vk::BufferView& a, const vk::BufferView& b, const vk::BufferView& out) {
  const Grid g = grid_1d(ctx.info(), ceil_div(push.n, kThreads));
  const std::initializer_list<vk::Access> accesses{vk::reads(a), vk::reads(b), vk::writes(out)};
  if (const auto bound = texels(ctx, push, a, b)) {
    const auto& pipeline =
        ctx.pipeline({std::string(shader) + "_texel", {kThreads}, sizeof(Push), 0, 2u, 0b11u});
    cs.dispatch_bound(pipeline, push, *bound, g.x, g.y, 1, shader, accesses);
    return;
  }
  const auto& pipeline = ctx.pipeline({shader, {kThreads}, sizeof(Push)});
  cs.dispatch(pipeline, push, g.x, g.y, 1, shader, accesses);
}
}  // namespace

bool elementwise_reads_texels(const vk::Context& ctx, const vk::BufferView& a, const vk::BufferView& b,
                              std::uint32_t n, std::uint32_t b_period) {
  return n != 0 && texels(ctx, Push{0, 0, 0, n, b_period ? b_period : n, 0.0f}, a, b).has_value();
}

void add(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& a, const vk::BufferView& b,
         const vk::BufferView& out, std::uint32_t n, std::uint32_t b_period) {
  if (n == 0) return;
  const std::uint32_t period = b_period ? b_period : n;
  require_bytes("add", "a", a, std::uint64_t(n) * 4);
  require_bytes("add", "b", b, std::uint64_t(period) * 4);
  require_bytes("add", "out", out, std::uint64_t(n) * 4);
  run(ctx, cs, "add", Push{a.address(), b.address(), out.address(), n, period, 0.0f}, a, b, out);
}

void swiglu(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& gate, const vk::BufferView& up,
            const vk::BufferView& out, std::uint32_t n) {
  if (n == 0) return;
  require_bytes("swiglu", "gate", gate, std::uint64_t(n) * 4);
  require_bytes("swiglu", "up", up, std::uint64_t(n) * 4);
  require_bytes("swiglu", "out", out, std::uint64_t(n) * 4);
  run(ctx, cs, "swiglu", Push{gate.address(), up.address(), out.address(), n, n, 0.0f}, gate, up, out);
}

void gelu(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& out,
          std::uint32_t n) {
  if (n == 0) return;
  require_bytes("gelu", "x", x, std::uint64_t(n) * 4);
  require_bytes("gelu", "out", out, std::uint64_t(n) * 4);
  // b is not read; x stands in so that every address is a valid one.
  run(ctx, cs, "gelu", Push{x.address(), x.address(), out.address(), n, n, 0.0f}, x, x, out);
}

void geglu(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& gate, const vk::BufferView& up,
           const vk::BufferView& out, std::uint32_t n) {
  if (n == 0) return;
  require_bytes("geglu", "gate", gate, std::uint64_t(n) * 4);
  require_bytes("geglu", "up", up, std::uint64_t(n) * 4);
  require_bytes("geglu", "out", out, std::uint64_t(n) * 4);
  run(ctx, cs, "geglu", Push{gate.address(), up.address(), out.address(), n, n, 0.0f}, gate, up, out);
}

void scale(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& out,
           std::uint32_t n, float factor) {
  if (n == 0) return;
  require_bytes("scale", "x", x, std::uint64_t(n) * 4);
  require_bytes("scale", "out", out, std::uint64_t(n) * 4);
  run(ctx, cs, "scale", Push{x.address(), x.address(), out.address(), n, n, factor}, x, x, out);
}

void softcap(vk::Context& ctx, vk::CommandStream& cs, const vk::BufferView& x, const vk::BufferView& out,
             std::uint32_t n, float cap) {
  if (n == 0) return;
  if (!(cap > 0.0f) || !std::isfinite(cap)) fail("softcap: the cap {} must be a finite positive number", cap);
  require_bytes("softcap", "x", x, std::uint64_t(n) * 4);
  require_bytes("softcap", "out", out, std::uint64_t(n) * 4);
  run(ctx, cs, "softcap", Push{x.address(), x.address(), out.address(), n, n, cap}, x, x, out);
}

}  // namespace lagvk::ops
