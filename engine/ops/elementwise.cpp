#include "engine/ops/elementwise.hpp"

#include <cmath>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"

namespace lagvk::ops {

namespace {
using Push = push::Elementwise;
constexpr std::uint32_t kThreads = 64;

/// `a` and `b` are read (b may stand in for an operand the kernel ignores), `out` written.
void run(vk::Context& ctx, vk::CommandStream& cs, const char* shader, const Push& push,
         const vk::BufferView& a, const vk::BufferView& b, const vk::BufferView& out) {
  const auto& pipeline = ctx.pipeline({shader, {kThreads}, sizeof(Push)});
  const Grid g = grid_1d(ctx.info(), ceil_div(push.n, kThreads));
  cs.dispatch(pipeline, push, g.x, g.y, 1, shader, {vk::reads(a), vk::reads(b), vk::writes(out)});
}
}  // namespace

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
