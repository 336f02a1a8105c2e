#include "engine/forward/linear.hpp"

#include "engine/core/error.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"

namespace lagvk {

void linear(vk::Context& ctx, vk::CommandStream& cs, const GpuTensor& w, const vk::BufferView& x,
            const vk::BufferView& y, std::uint32_t n, ops::Epilogue epilogue,
            const std::optional<ops::InputNorm>& norm) {
  if (n == 1) {
    // A gated epilogue makes one output of each gate row and its up row.
    if (ops::gated(epilogue) && w.rows % 2 != 0)
      fail("internal: a gated projection needs stacked gate and up rows, not {} rows", w.rows);
    const auto outputs = std::uint32_t(ops::gated(epilogue) ? w.rows / 2 : w.rows);
    ops::matvec(ctx, cs, w.format, w.view(), x, y, outputs, std::uint32_t(w.cols), epilogue, norm);
  } else {
    if (norm) fail("internal: an input norm in the projection of {} rows (one row only)", n);
    ops::MatmulShape shape{n, std::uint32_t(w.rows), std::uint32_t(w.cols)};
    shape.epilogue = epilogue;
    ops::matmul(ctx, cs, w.format, x, w.view(), y, shape);
  }
}

}  // namespace lagvk
