#include "engine/ops/matmul.hpp"

#include "engine/ops/dispatch.hpp"

namespace lagvk::ops {

namespace {
struct Push {
  VkDeviceAddress a, b, c;
  std::uint32_t m, n, k, a_stride, c_stride;
};
constexpr std::uint32_t kTileM = 64, kTileN = 64, kTileK = 16;
}  // namespace

void matmul(vk::Context& ctx, vk::CommandStream& cs, WeightFormat format, const vk::BufferView& a,
            const vk::BufferView& b, const vk::BufferView& c, const MatmulShape& s) {
  const std::uint32_t a_stride = s.a_stride ? s.a_stride : s.k;
  const std::uint32_t c_stride = s.c_stride ? s.c_stride : s.n;
  if (s.k % block_elements(format) != 0)
    fail("matmul: inner dimension {} is not a multiple of the {} block size {}", s.k, format_name(format),
         block_elements(format));
  if (s.m == 0 || s.n == 0) return;
  require_bytes("matmul", "A", a, (std::uint64_t(s.m - 1) * a_stride + s.k) * 4);
  require_bytes("matmul", "B", b, std::uint64_t(s.n) * row_bytes(format, s.k));
  require_bytes("matmul", "C", c, (std::uint64_t(s.m - 1) * c_stride + s.n) * 4);
  const auto& pipeline = ctx.pipeline({"matmul_" + std::string(format_name(format)),
                                       {kTileM, kTileN, kTileK, (kTileM / 4) * (kTileN / 4)},
                                       sizeof(Push)});
  const Push push{a.address(), b.address(), c.address(), s.m, s.n, s.k, a_stride, c_stride};
  cs.dispatch(pipeline, push, std::uint32_t(ceil_div(s.n, kTileN)), std::uint32_t(ceil_div(s.m, kTileM)), 1,
              "matmul");
}

}  // namespace lagvk::ops
