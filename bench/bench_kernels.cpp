// Kernel benchmark: decode-style matrix-vector (GB/s of weights read) and prefill-style matrix multiply
// (GFLOP/s) for every weight format, next to the machine limits measured in the same run.
// usage: bench_kernels [--json FILE] [--device N] [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/support/machine_limits.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"
#include "engine/vk/command_stream.hpp"

namespace {

using namespace lagvk;
using Clock = std::chrono::steady_clock;

/// Random bytes are valid weights for every format except that fp16/f32 may hold NaN/Inf patterns;
/// scale bytes are small finite numbers here so the kernels do ordinary arithmetic.
vk::Buffer random_weights(vk::Context& ctx, WeightFormat f, std::uint32_t n, std::uint32_t k) {
  const std::uint64_t bytes = std::uint64_t(n) * row_bytes(f, k);
  std::vector<std::uint16_t> words(bytes / 2);
  std::mt19937 rng(1);
  // 0x2000..0x2fff as fp16 are small positive normals (as bf16 tiny ones); as int8/int4 pairs and
  // K-quant scale bytes they are arbitrary quants.
  for (auto& w : words) w = std::uint16_t(0x2000 | (rng() & 0x0fff));
  auto b = ctx.create_buffer(bytes);
  ctx.upload(b, std::span<const std::uint16_t>(words));
  return b;
}

template <typename Fn>
double time_per_call(vk::Context& ctx, int reps, Fn&& record) {
  {  // warm-up: pipeline creation and first-touch costs
    vk::CommandStream cs(ctx);
    record(cs);
    cs.finish();
  }
  double best = 1e30;
  for (int trial = 0; trial < 3; ++trial) {
    vk::CommandStream cs(ctx);
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) record(cs);
    cs.finish();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / reps);
  }
  return best;
}

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
    const std::uint32_t n = quick ? 2048 : 4096, k = quick ? 2048 : 4096, m = quick ? 64 : 128;
    for (WeightFormat f : {WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0,
                           WeightFormat::q4_0, WeightFormat::q4_k, WeightFormat::q5_k, WeightFormat::q6_k}) {
      auto w = random_weights(ctx, f, n, k);
      auto x = ctx.create_buffer(std::uint64_t(k) * m * 4), y = ctx.create_buffer(std::uint64_t(n) * m * 4);
      {
        vk::CommandStream cs(ctx);
        cs.fill(x, 0x3c000000u);  // 0.0078125
        cs.finish();
      }
      const double mv = time_per_call(ctx, quick ? 5 : 20,
                                      [&](vk::CommandStream& cs) { ops::matvec(ctx, cs, f, w, x, y, n, k); });
      const double bytes = double(n) * double(row_bytes(f, k)) + k * 4.0 + n * 4.0;
      const double gbps = bytes / mv * 1e-9;
      std::printf("%-8s %-6s %-22s %10.3f %8.1f GB/s %9.0f%%\n", "matvec",
                  std::string(format_name(f)).c_str(), fmt::format("{}x{}", n, k).c_str(), mv * 1e3, gbps,
                  100.0 * gbps / roof_gbps);
      results.push_back({{"kernel", "matvec"},
                         {"format", format_name(f)},
                         {"n", n},
                         {"k", k},
                         {"ms", mv * 1e3},
                         {"gbps", gbps},
                         {"fraction_of_roof", gbps / roof_gbps}});

      const double mm = time_per_call(ctx, quick ? 1 : 3, [&](vk::CommandStream& cs) {
        ops::matmul(ctx, cs, f, x, w, y, {m, n, k});
      });
      const double gflops = 2.0 * m * n * k / mm * 1e-9;
      std::printf("%-8s %-6s %-22s %10.3f %6.1f GFLOP/s %8.0f%%\n", "matmul",
                  std::string(format_name(f)).c_str(), fmt::format("{}x{}x{}", m, n, k).c_str(), mm * 1e3,
                  gflops, 100.0 * gflops / limits.gpu_fp32_gflops);
      results.push_back({{"kernel", "matmul"},
                         {"format", format_name(f)},
                         {"m", m},
                         {"n", n},
                         {"k", k},
                         {"ms", mm * 1e3},
                         {"gflops", gflops},
                         {"fraction_of_fp32_peak", gflops / limits.gpu_fp32_gflops}});
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
