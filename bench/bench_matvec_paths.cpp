// Matrix-vector throughput through the three tensor access paths on one device, interleaved in one run
// (engine/ops/tensor_access.hpp): buffer device addresses (forced with Context::limit_bindings), storage
// descriptors and texel views (each forced with Context::set_texel_reads). The ratios are what each
// descriptor path buys on this driver over addresses. For 32-element block formats, "texel blocks" is the
// texel path on rows one block shorter than K, which are not whole 16-byte aligned runs of blocks
// (shaders/common/weight_groups.glsl): lanes then read single blocks, as in models whose row length is
// not a multiple of such runs.
// usage: bench_matvec_paths [--device N] [--n ROWS] [--k COLS] [--trials T] [--formats f16,q8_0,...]
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

std::string fmt_gbps(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int device = -1, trials = 5;
  std::uint32_t n = 4096, k = 4096;
  std::string only;  // ",f16,q8_0,": these formats only
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--n") && i + 1 < argc)
      n = std::uint32_t(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--k") && i + 1 < argc)
      k = std::uint32_t(std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--trials") && i + 1 < argc)
      trials = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--formats") && i + 1 < argc)
      only = std::string(",") + argv[++i] + ",";
    else {
      std::fprintf(stderr,
                   "usage: bench_matvec_paths [--device N] [--n ROWS] [--k COLS] [--trials T] "
                   "[--formats f16,q8_0,...]\n");
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
    std::printf("%-7s %-11s %13s %13s %13s %13s %7s %7s %9s\n", "format", "shape", "address GB/s",
                "storage GB/s", "texel GB/s", "texel blocks", "storage", "texel", "best/copy");
    for (WeightFormat f :
         {WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0,
          WeightFormat::q4_1, WeightFormat::q4_k, WeightFormat::q5_k, WeightFormat::q6_k}) {
      if (!only.empty() && only.find("," + std::string(format_name(f)) + ",") == std::string::npos) continue;
      auto w = random_weights(ctx, f, n, k);
      auto x = ctx.create_buffer(std::uint64_t(k) * 4), y = ctx.create_buffer(std::uint64_t(n) * 4);
      {
        vk::CommandStream cs(ctx);
        cs.fill(x, 0x3c000000u);  // 0.0078125
        cs.finish();
      }
      const bool grouped = texel_group_blocks(f) != 0;
      const std::uint32_t k_blocks = k - block_elements(f);  // rows that are not whole runs of blocks
      auto bytes = [&](std::uint32_t cols) {
        return double(n) * double(row_bytes(f, cols)) + cols * 4.0 + n * 4.0;
      };
      double best[4] = {1e30, 1e30, 1e30, 1e30};  // address, storage, texel, texel on single blocks
      bool as_named[4] = {true, true, true, true};
      for (int t = 0; t <= trials; ++t)  // trial 0 warms up (pipeline creation)
        for (int path = 0; path < (grouped ? 4 : 3); ++path) {
          const std::uint32_t cols = path == 3 ? k_blocks : k;
          const VkDeviceSize before = ctx.limit_bindings(path == 0 ? 1 : 0);
          const bool texels_before = ctx.set_texel_reads(path >= 2);
          as_named[path] =
              ops::matvec_access(ctx, f, w, x, y, n, cols) == ops::TensorAccess(std::min(path, 2));
          const double s = seconds_per_call(ctx, 5, f, w, x, y, n, cols);
          ctx.set_texel_reads(texels_before);
          ctx.limit_bindings(before);
          if (t > 0) best[path] = std::min(best[path], s);
        }
      double gbps[4];
      for (int path = 0; path < 4; ++path) gbps[path] = bytes(path == 3 ? k_blocks : k) / best[path] * 1e-9;
      const std::string blocks = grouped ? fmt_gbps(gbps[3]) : "-";
      std::printf("%-7s %-11s %13.1f %13.1f %13.1f %13s %6.2fx %6.2fx %8.0f%%%s\n",
                  std::string(format_name(f)).c_str(), (std::to_string(n) + "x" + std::to_string(k)).c_str(),
                  gbps[0], gbps[1], gbps[2], blocks.c_str(), gbps[1] / gbps[0], gbps[2] / gbps[0],
                  100.0 * std::max({gbps[0], gbps[1], gbps[2]}) / limits.gpu_copy_gbps,
                  as_named[1] && as_named[2] && as_named[3]
                      ? ""
                      : "  (a descriptor path was not possible: it read addresses)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
