#include "engine/forward/linear.hpp"

#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"

namespace lagvk {

void linear(vk::Context& ctx, vk::CommandStream& cs, const GpuTensor& w, const vk::BufferView& x,
            const vk::BufferView& y, std::uint32_t n, ops::Epilogue epilogue) {
  if (n == 1) {
    ops::matvec(ctx, cs, w.format, w.view(), x, y, std::uint32_t(w.rows), std::uint32_t(w.cols), epilogue);
  } else {
    ops::MatmulShape shape{n, std::uint32_t(w.rows), std::uint32_t(w.cols)};
    shape.epilogue = epilogue;
    ops::matmul(ctx, cs, w.format, x, w.view(), y, shape);
  }
}

}  // namespace lagvk
