// Matrix-vector throughput through the three tensor access paths on one device, interleaved in one run
// (engine/ops/tensor_access.hpp): buffer device addresses (forced with Context::limit_bindings), storage
// descriptors and texel views (each forced with Context::set_texel_reads). The ratios are what each
// descriptor path buys on this driver over addresses.
// usage: bench_matvec_paths [--device N] [--n ROWS] [--k COLS] [--trials T]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/matvec.hpp"
#include "engine/vk/command_stream.hpp"
#include "tools/bench/machine_limits.hpp"

namespace {

using namespace lagvk;
using Clock = std::chrono::steady_clock;

/// Random small finite weights (as in bench_kernels), in a buffer padded as the engine pads weights.
vk::Buffer random_weights(vk::Context& ctx, WeightFormat f, std::uint32_t n, std::uint32_t k) {
  const std::uint64_t bytes = (std::uint64_t(n) * row_bytes(f, k) + 15) / 16 * 16;
  std::vector<std::uint16_t> words(bytes / 2);
  std::mt19937 rng(1);
  for (auto& w : words) w = std::uint16_t(0x2000 | (rng() & 0x0fff));
  auto b = ctx.create_buffer(bytes);
  ctx.upload(b, std::span<const std::uint16_t>(words));
  return b;
}

/// Seconds per matvec, `reps` dispatches recorded into one stream.
double seconds_per_call(vk::Context& ctx, int reps, WeightFormat f, const vk::Buffer& w, const vk::Buffer& x,
                        const vk::Buffer& y, std::uint32_t n, std::uint32_t k) {
  vk::CommandStream cs(ctx);
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) ops::matvec(ctx, cs, f, w, x, y, n, k);
  cs.finish();
  return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
}

}  // namespace

int main(int argc, char** argv) {
  int device = -1, trials = 5;
  std::uint32_t n = 4096, k = 4096;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--n") && i + 1 < argc)
      n = std::uint32_t(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--k") && i + 1 < argc)
      k = std::uint32_t(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--trials") && i + 1 < argc)
      trials = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: bench_matvec_paths [--device N] [--n ROWS] [--k COLS] [--trials T]\n");
      return 2;
    }
  }
  try {
    vk::ContextOptions options;
    options.device_index = device;
    vk::Context ctx(options);
    std::printf("device: %s (%s)\n", ctx.info().name.c_str(), ctx.info().driver_info.c_str());
    const auto limits = bench::probe_machine(ctx);
    std::printf("machine limits: GPU copy %.1f GB/s\n", limits.gpu_copy_gbps);
    std::printf("%-7s %-11s %13s %13s %13s %7s %7s %9s\n", "format", "shape", "address GB/s", "storage GB/s",
                "texel GB/s", "storage", "texel", "best/copy");
    for (WeightFormat f :
         {WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0,
          WeightFormat::q4_1, WeightFormat::q4_k, WeightFormat::q5_k, WeightFormat::q6_k}) {
      auto w = random_weights(ctx, f, n, k);
      auto x = ctx.create_buffer(std::uint64_t(k) * 4), y = ctx.create_buffer(std::uint64_t(n) * 4);
      {
        vk::CommandStream cs(ctx);
        cs.fill(x, 0x3c000000u);  // 0.0078125
        cs.finish();
      }
      const double bytes = double(n) * double(row_bytes(f, k)) + k * 4.0 + n * 4.0;
      double best[3] = {1e30, 1e30, 1e30};  // address, storage, texel
      bool as_named[3] = {true, true, true};
      for (int t = 0; t <= trials; ++t)  // trial 0 warms up (pipeline creation)
        for (int path = 0; path < 3; ++path) {
          const VkDeviceSize before = ctx.limit_bindings(path == 0 ? 1 : 0);
          const bool texels_before = ctx.set_texel_reads(path == 2);
          as_named[path] = ops::matvec_access(ctx, f, w, x, y, n, k) == ops::TensorAccess(path);
          const double s = seconds_per_call(ctx, 5, f, w, x, y, n, k);
          ctx.set_texel_reads(texels_before);
          ctx.limit_bindings(before);
          if (t > 0) best[path] = std::min(best[path], s);
        }
      double gbps[3];
      for (int path = 0; path < 3; ++path) gbps[path] = bytes / best[path] * 1e-9;
      std::printf(
          "%-7s %-11s %13.1f %13.1f %13.1f %6.2fx %6.2fx %8.0f%%%s\n", std::string(format_name(f)).c_str(),
          (std::to_string(n) + "x" + std::to_string(k)).c_str(), gbps[0], gbps[1], gbps[2], gbps[1] / gbps[0],
          gbps[2] / gbps[0], 100.0 * std::max({gbps[0], gbps[1], gbps[2]}) / limits.gpu_copy_gbps,
          as_named[1] && as_named[2] ? "" : "  (a descriptor path was not possible: it read addresses)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
