#include "tools/bench/kernel_speed.hpp"

#include <algorithm>
#include <random>
#include <span>

#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"
#include "engine/vk/command_stream.hpp"
#include "tools/bench/timing.hpp"

namespace lagvk::bench {

namespace {

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

/// Seconds per call of `record`, `reps` calls to a command buffer, best of three buffers.
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
    best = std::min(best, seconds_since(t0) / reps);
  }
  return best;
}

}  // namespace

std::vector<WeightFormat> gpu_weight_formats() {
  std::vector<WeightFormat> out;
  for (const auto& t : kGgmlTypes)
    if (has_gpu_kernels(t.type)) out.push_back(t.type);
  return out;
}

KernelSpeed measure_kernel_speed(vk::Context& ctx, WeightFormat f, const KernelShape& s) {
  const auto w = random_weights(ctx, f, s.n, s.k);
  auto x = ctx.create_buffer(std::uint64_t(s.k) * s.m * 4),
       y = ctx.create_buffer(std::uint64_t(s.n) * s.m * 4);
  {
    vk::CommandStream cs(ctx);
    cs.fill(x, 0x3c000000u);  // 0.0078125
    cs.finish();
  }
  KernelSpeed r;
  r.format = f;
  r.shape = s;
  const double mv = time_per_call(ctx, s.matvec_reps,
                                  [&](vk::CommandStream& cs) { ops::matvec(ctx, cs, f, w, x, y, s.n, s.k); });
  const double bytes = double(s.n) * double(row_bytes(f, s.k)) + s.k * 4.0 + s.n * 4.0;
  r.matvec_ms = mv * 1e3;
  r.matvec_gbps = bytes / mv * 1e-9;
  const double mm = time_per_call(ctx, s.matmul_reps, [&](vk::CommandStream& cs) {
    ops::matmul(ctx, cs, f, x, w, y, {s.m, s.n, s.k});
  });
  r.matmul_ms = mm * 1e3;
  r.matmul_gflops = 2.0 * s.m * s.n * s.k / mm * 1e-9;
  return r;
}

}  // namespace lagvk::bench
