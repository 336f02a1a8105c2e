#pragma once
// Probes of the machine's own limits, measured in the same run as the benchmarks they put in context:
// host memory read bandwidth, host memcpy bandwidth, GPU copy bandwidth and GPU fp32 FLOP/s.
#include <cstdint>

#include "engine/vk/context.hpp"

namespace lagvk::bench {

struct MachineLimits {
  double host_read_gbps = 0;    ///< all cores summing a large array
  double host_memcpy_gbps = 0;  ///< one memcpy of a large array (bytes read + written, counted once)
  double gpu_copy_gbps = 0;     ///< vkCmdCopyBuffer between device buffers, bytes copied
  double gpu_fp32_gflops = 0;   ///< fma throughput of the device
};

/// How much each probe moves: the defaults measure a steady state on CPUs and GPUs alike; smaller sizes
/// (lagvk bench --quick) finish sooner and read lower where caches or launch costs dominate.
struct ProbeSizes {
  std::uint64_t bytes = std::uint64_t(512) << 20;  ///< host array; the GPU copies half of it
  std::uint32_t fma_workgroups = 4096;             ///< of 64 threads, 4096 iterations of 16 fma each
};

[[nodiscard]] MachineLimits probe_machine(vk::Context& ctx, const ProbeSizes& sizes = {});

}  // namespace lagvk::bench
