#pragma once
// Kernel throughput per weight format: decode-style matrix-vector products (GB/s of weights read) and
// prefill-style matrix multiplies (GFLOP/s), on random weights of the format.
#include <cstdint>
#include <vector>

#include "engine/ops/weight_format.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::bench {

struct KernelShape {
  std::uint32_t n = 4096;  ///< output rows (weight matrix rows)
  std::uint32_t k = 4096;  ///< inner dimension (weight row length)
  std::uint32_t m = 128;   ///< matmul batch (prompt tokens)
  int matvec_reps = 20;    ///< products per timed command buffer
  int matmul_reps = 3;
};

struct KernelSpeed {
  WeightFormat format{};
  KernelShape shape;
  double matvec_ms = 0, matvec_gbps = 0;  ///< per product; weight, input and output bytes
  double matmul_ms = 0, matmul_gflops = 0;
};

/// Every format the GPU kernels read, in weight_types.def's order.
[[nodiscard]] std::vector<WeightFormat> gpu_weight_formats();

/// Both kernels on one format: best of three timed command buffers after an untimed warm-up (pipeline
/// creation, first touch).
[[nodiscard]] KernelSpeed measure_kernel_speed(vk::Context& ctx, WeightFormat format,
                                               const KernelShape& shape);

}  // namespace lagvk::bench
