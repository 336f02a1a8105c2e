#include "tests/support/gpu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <fmt/format.h>

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

ElementwiseReport check_elementwise(std::span<const float> g, std::span<const float> r,
                                    ElementwiseTolerance tolerance) {
  ElementwiseReport report;
  if (g.size() != r.size()) {
    report.violations = std::max(g.size(), r.size());
    report.worst_excess = std::numeric_limits<double>::infinity();
    return report;
  }
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double diff = std::fabs(double(g[i]) - double(r[i]));
    const double bound = tolerance.atol + tolerance.rtol * std::fabs(double(r[i]));
    double excess = 0.0;
    if (!std::isfinite(g[i]) || !std::isfinite(diff))
      excess = std::numeric_limits<double>::infinity();
    else if (diff > 0.0)
      excess = bound > 0.0 ? diff / bound : std::numeric_limits<double>::infinity();
    if (excess > 1.0) ++report.violations;
    if (excess > report.worst_excess || (i == 0 && report.worst_excess == 0.0)) {
      report.worst_excess = excess;
      report.worst_index = i;
      report.worst_gpu = g[i];
      report.worst_ref = r[i];
    }
  }
  return report;
}

std::string describe(const ElementwiseReport& report, ElementwiseTolerance tolerance, std::size_t elements) {
  return fmt::format(
      "{} of {} elements outside |gpu - ref| <= {:.1e} + {:.1e} |ref|; worst: element {}, gpu {:.9g} "
      "vs ref {:.9g} ({:.3g}x the bound)",
      report.violations, elements, tolerance.atol, tolerance.rtol, report.worst_index, report.worst_gpu,
      report.worst_ref, report.worst_excess);
}

}  // namespace lagvk::test
