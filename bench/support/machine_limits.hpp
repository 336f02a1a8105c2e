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

[[nodiscard]] MachineLimits probe_machine(vk::Context& ctx, std::uint64_t bytes = std::uint64_t(512) << 20);

}  // namespace lagvk::bench
