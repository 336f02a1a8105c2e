#include "tools/bench/machine_limits.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

#include "engine/ops/dispatch.hpp"
#include "engine/ops/push_constants.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double probe_host_read(const std::vector<float>& data) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> sums(threads);
    std::vector<std::thread> pool;
    const auto t0 = Clock::now();
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const std::size_t begin = data.size() * t / threads, end = data.size() * (t + 1) / threads;
        // Eight independent accumulators so the adds are not one serial chain.
        float acc[8] = {};
        std::size_t i = begin;
        for (; i + 8 <= end; i += 8)
          for (int j = 0; j < 8; ++j) acc[j] += data[i + std::size_t(j)];
        for (; i < end; ++i) acc[0] += data[i];
        sums[t] = std::accumulate(acc, acc + 8, 0.0);
      });
    }
    for (auto& th : pool) th.join();
    best = std::min(best, seconds_since(t0));
    if (std::accumulate(sums.begin(), sums.end(), 0.0) == -1.0) std::printf(" ");  // keep the sums alive
  }
  return double(data.size() * sizeof(float)) / best * 1e-9;
}

double probe_host_memcpy(std::uint64_t bytes) {
  std::vector<std::byte> a(bytes, std::byte{1}), b(bytes);
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    best = std::min(best, seconds_since(t0));
  }
  return double(bytes) / best * 1e-9;
}

double probe_gpu_copy(vk::Context& ctx, std::uint64_t bytes) {
  auto src = ctx.create_buffer(bytes), dst = ctx.create_buffer(bytes);
  vk::CommandStream warm(ctx);
  warm.fill(src, 0x3f800000u);
  warm.finish();
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    vk::CommandStream cs(ctx);
    const auto t0 = Clock::now();
    cs.copy(src, dst);
    cs.finish();
    best = std::min(best, seconds_since(t0));
  }
  return double(bytes) / best * 1e-9;
}

double probe_gpu_flops(vk::Context& ctx, std::uint32_t groups) {
  using Push = ops::push::ProbeFlops;
  constexpr std::uint32_t kThreads = 64, kIterations = 4096;
  auto out = ctx.create_buffer(std::uint64_t(groups) * kThreads * 4);
  const auto& pipeline = ctx.pipeline({"probe_flops", {kThreads}, sizeof(Push)});
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    vk::CommandStream cs(ctx);
    const auto t0 = Clock::now();
    const ops::Grid g = ops::grid_1d(ctx.info(), groups);
    cs.dispatch(pipeline, Push{out.address(), kIterations}, g.x, g.y);
    cs.finish();
    best = std::min(best, seconds_since(t0));
  }
  // 4 vec4 fma per iteration = 16 fma = 32 flops per thread per iteration.
  return double(groups) * kThreads * kIterations * 32.0 / best * 1e-9;
}

}  // namespace

MachineLimits probe_machine(vk::Context& ctx, const ProbeSizes& sizes) {
  MachineLimits m;
  const std::uint64_t bytes = sizes.bytes;
  std::vector<float> data(bytes / sizeof(float), 1.0f);
  m.host_read_gbps = probe_host_read(data);
  data = {};
  m.host_memcpy_gbps = probe_host_memcpy(bytes / 2);
  m.gpu_copy_gbps =
      probe_gpu_copy(ctx, std::min<std::uint64_t>(bytes / 2, ctx.info().max_memory_allocation_size / 2));
  m.gpu_fp32_gflops = probe_gpu_flops(ctx, sizes.fma_workgroups);
  return m;
}

}  // namespace lagvk::bench
