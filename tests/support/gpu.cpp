#include "tests/support/gpu.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "tests/support/validation.hpp"

namespace lagvk::test {

vk::Context& gpu() {
  // One device per test binary: creating a Vulkan device takes longer than most tests.
  static std::unique_ptr<vk::Context> context = [] {
    vk::ContextOptions options;
    options.instance = instance_options();
    return std::make_unique<vk::Context>(options);
  }();
  return *context;
}

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

ErrorStats compare(std::span<const float> g, std::span<const float> r) {
  ErrorStats s;
  double ref_max = 0.0;
  for (float x : r) ref_max = std::max(ref_max, double(std::fabs(x)));
  for (std::size_t i = 0; i < std::min(g.size(), r.size()); ++i) {
    if (!std::isfinite(g[i])) s.finite = false;
    const double d = std::fabs(double(g[i]) - double(r[i]));
    if (d > s.max_abs || !std::isfinite(d)) {
      s.max_abs = d;
      s.worst_index = i;
    }
  }
  if (g.size() != r.size()) s.finite = false;
  s.max_rel = ref_max > 0 ? s.max_abs / ref_max : s.max_abs;
  return s;
}

}  // namespace lagvk::test
