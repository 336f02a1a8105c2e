// Kernel benchmark: decode-style matrix-vector (GB/s of weights read) and prefill-style matrix multiply
// (GFLOP/s) for every weight format, next to the machine limits measured in the same run.
// usage: bench_kernels [--json FILE] [--device N] [--quick]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/bench/kernel_speed.hpp"
#include "tools/bench/machine_limits.hpp"

namespace {

using namespace lagvk;

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  int device = -1;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr, "usage: bench_kernels [--json FILE] [--device N] [--quick]\n");
      return 2;
    }
  }
  try {
    vk::ContextOptions options;
    options.device_index = device;
    vk::Context ctx(options);
    std::printf("device: %s (%s)\n", ctx.info().name.c_str(), ctx.info().driver_info.c_str());
    const auto limits = bench::probe_machine(ctx);
    std::printf(
        "machine limits: host read %.1f GB/s, host memcpy %.1f GB/s, GPU copy %.1f GB/s, GPU fp32 %.1f "
        "GFLOP/s\n\n",
        limits.host_read_gbps, limits.host_memcpy_gbps, limits.gpu_copy_gbps, limits.gpu_fp32_gflops);
    // The memory roof of a weight-streaming kernel: on a CPU device (lavapipe) the host read bandwidth,
    // elsewhere the device copy bandwidth.
    const double roof_gbps = ctx.info().type == "cpu" ? limits.host_read_gbps : limits.gpu_copy_gbps;

    nlohmann::json results = nlohmann::json::array();
    std::printf("%-8s %-6s %-22s %10s %12s %10s\n", "kernel", "format", "shape", "time ms", "throughput",
                "of roof");
    bench::KernelShape shape;
    if (quick) shape = {2048, 2048, 64, 5, 1};
    for (WeightFormat f : {WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0,
                           WeightFormat::q4_0, WeightFormat::q4_k, WeightFormat::q5_k, WeightFormat::q6_k}) {
      const auto r = bench::measure_kernel_speed(ctx, f, shape);
      const auto [n, k, m, mv_reps, mm_reps] = shape;
      std::printf("%-8s %-6s %-22s %10.3f %8.1f GB/s %9.0f%%\n", "matvec",
                  std::string(format_name(f)).c_str(), fmt::format("{}x{}", n, k).c_str(), r.matvec_ms,
                  r.matvec_gbps, 100.0 * r.matvec_gbps / roof_gbps);
      results.push_back({{"kernel", "matvec"},
                         {"format", format_name(f)},
                         {"n", n},
                         {"k", k},
                         {"ms", r.matvec_ms},
                         {"gbps", r.matvec_gbps},
                         {"fraction_of_roof", r.matvec_gbps / roof_gbps}});
      std::printf("%-8s %-6s %-22s %10.3f %6.1f GFLOP/s %8.0f%%\n", "matmul",
                  std::string(format_name(f)).c_str(), fmt::format("{}x{}x{}", m, n, k).c_str(), r.matmul_ms,
                  r.matmul_gflops, 100.0 * r.matmul_gflops / limits.gpu_fp32_gflops);
      results.push_back({{"kernel", "matmul"},
                         {"format", format_name(f)},
                         {"m", m},
                         {"n", n},
                         {"k", k},
                         {"ms", r.matmul_ms},
                         {"gflops", r.matmul_gflops},
                         {"fraction_of_fp32_peak", r.matmul_gflops / limits.gpu_fp32_gflops}});
    }
    if (!json_path.empty()) {
      nlohmann::json j{{"device", ctx.info()},
                       {"limits",
                        {{"host_read_gbps", limits.host_read_gbps},
                         {"host_memcpy_gbps", limits.host_memcpy_gbps},
                         {"gpu_copy_gbps", limits.gpu_copy_gbps},
                         {"gpu_fp32_gflops", limits.gpu_fp32_gflops},
                         {"memory_roof_gbps", roof_gbps}}},
                       {"results", results}};
      std::ofstream(json_path) << j.dump(2) << "\n";
      std::printf("\nwrote %s\n", json_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
