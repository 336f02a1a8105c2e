#pragma once
// What a projection kernel (matvec, matmul) does with its result: store it, or add it to what the output
// already holds. Adding is the residual connection in the projection's epilogue: no separate add kernel,
// no barrier before it, and the projection's output is never written out and read back.
#include <cstdint>

namespace lagvk::ops {

/// The value is the kernels' EPILOGUE (matvec) or ACCUMULATE (matmul*) specialization constant.
/// swiglu and geglu gate the projection (matrix-vector only): the weights hold 2N rows, gate rows then up
/// rows (GpuLayer::w_gate_up), and y[i] = act(gate_i . x) (up_i . x), the feed-forward's activation
/// without a kernel of its own.
enum class Epilogue : std::uint32_t { store = 0, accumulate = 1, swiglu = 2, geglu = 3 };

/// Whether `e` gates the projection (2N weight rows for N outputs).
[[nodiscard]] constexpr bool gated(Epilogue e) {
  return e == Epilogue::swiglu || e == Epilogue::geglu;
}

}  // namespace lagvk::ops
