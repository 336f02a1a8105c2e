#pragma once
// What a projection kernel (matvec, matmul) does with its result: store it, or add it to what the output
// already holds. Adding is the residual connection in the projection's epilogue: no separate add kernel,
// no barrier before it, and the projection's output is never written out and read back.
#include <cstdint>

namespace lagvk::ops {

/// The value is the kernels' ACCUMULATE specialization constant (shaders/matvec.comp, matmul*.comp).
enum class Epilogue : std::uint32_t { store = 0, accumulate = 1 };

}  // namespace lagvk::ops
