#include "engine/model/quant_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace lagvk::quant_search {
namespace {

// Candidate scales: the extreme mapped to the range's end moved by -kSteps..kSteps tenths of a level.
constexpr int kSteps = 9;
constexpr float kStep = 0.1f;

// Round to nearest (half away from zero) without branches or library calls (std::lround and std::floor
// are calls on baseline x86-64, and a branch on the sign mispredicts half the time): the search rounds
// each element dozens of times. Any rounding gives valid codes; NaN gives lo.
int round_clamp(float v, int lo, int hi) {
  v = std::min(std::max(v, float(lo) - 1.0f), float(hi) + 1.0f);
  return std::clamp(int(v + std::copysign(0.5f, v)), lo, hi);
}

/// The value of largest magnitude, with its sign.
float signed_extreme(std::span<const float> x) {
  float extreme = 0.0f;
  for (float v : x)
    if (std::fabs(v) > std::fabs(extreme)) extreme = v;
  return extreme;
}

/// The least-squares d for x ≈ d * q over the integers q that `iscale` rounds x to, and the squared
/// error of that fit with those integers (a bound on the error once each x is rounded again under d).
struct SymmetricFit {
  float d = 0.0f;
  double error = INFINITY;
};
SymmetricFit refit_symmetric(std::span<const float> x, float iscale, int qmin, int qmax) {
  double xx = 0.0, xq = 0.0, qq = 0.0;
  for (float v : x) {
    const int q = round_clamp(v * iscale, qmin, qmax);
    xx += double(v) * v, xq += double(v) * q, qq += double(q) * q;
  }
  if (qq <= 0.0) return {};
  const double d = xq / qq;
  return {float(d), xx - d * xq};
}

}  // namespace

float symmetric_error(std::span<const float> x, float d, int qmin, int qmax) {
  const float inverse = d == 0.0f ? 0.0f : 1.0f / d;
  float error = 0.0f;
  for (float v : x) {
    const float decoded = d * float(round_clamp(v * inverse, qmin, qmax));
    error += (v - decoded) * (v - decoded);
  }
  return error;
}

float fit_symmetric(std::span<const float> x, int qmin, int qmax) {
  const float extreme = signed_extreme(x);
  if (extreme == 0.0f) return 0.0f;
  SymmetricFit best = refit_symmetric(x, float(qmin) / extreme, qmin, qmax);
  for (const int end : {qmin, qmax}) {  // the extreme at either end of the range
    for (int step = -kSteps; step <= kSteps; ++step) {
      const float level = float(end) + (end < 0 ? -1.0f : 1.0f) * kStep * float(step);
      if (level == 0.0f || (level < 0.0f) != (end < 0)) continue;
      const SymmetricFit fit = refit_symmetric(x, level / extreme, qmin, qmax);
      if (fit.d != 0.0f && fit.error < best.error) best = fit;
    }
  }
  return best.d != 0.0f ? best.d : extreme / float(qmin);
}

float scale_min_error(std::span<const float> x, float scale, float min, int qmax) {
  const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
  float error = 0.0f;
  for (float v : x) {
    const float decoded = scale * float(round_clamp((v + min) * inverse, 0, qmax)) - min;
    error += (v - decoded) * (v - decoded);
  }
  return error;
}

ScaleMin fit_scale_min(std::span<const float> x, int qmax) {
  float lo = 0.0f, hi = 0.0f;  // the range always holds 0: min >= 0
  double sxx = 0.0;
  for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v), sxx += double(v) * v;
  if (hi <= lo) return {0.0f, -lo};
  ScaleMin best{(hi - lo) / float(qmax), -lo};
  double best_error = INFINITY;
  for (int step = -kSteps; step <= kSteps; ++step) {
    const float iscale = (float(qmax) + kStep * float(step)) / (hi - lo);
    if (iscale <= 0.0f) continue;
    // Least squares for x ≈ a * q + b over the integers this scale rounds to, with b <= 0, and its
    // squared error with those integers (from the sums: no second pass).
    double n = 0.0, sq = 0.0, sqq = 0.0, sx = 0.0, sxq = 0.0;
    for (float v : x) {
      const int q = round_clamp((v - lo) * iscale, 0, qmax);
      n += 1.0, sq += q, sqq += double(q) * q, sx += v, sxq += double(v) * q;
    }
    const double det = n * sqq - sq * sq;
    if (det <= 0.0) continue;
    double a = (n * sxq - sq * sx) / det, b = (sqq * sx - sq * sxq) / det;
    if (b > 0.0) b = 0.0, a = sxq / sqq;
    if (a <= 0.0) continue;
    const double error = sxx - 2 * a * sxq - 2 * b * sx + a * a * sqq + 2 * a * b * sq + n * b * b;
    if (error < best_error) best = {float(a), float(-b)}, best_error = error;
  }
  return best;
}

namespace {

/// A sorted grid of up to 16 levels as floats, with the midpoints between neighbours, for a fast
/// nearest-level search (the search below looks up each element thirty times).
class Grid {
 public:
  explicit Grid(std::span<const std::int8_t> grid) : size_(grid.size()) {
    for (std::size_t i = 0; i < size_; ++i) value_[i] = float(grid[i]);
    for (std::size_t i = 0; i < 16; ++i)  // past the end: never exceeded
      middle_[i] = i + 1 < size_ ? 0.5f * (value_[i] + value_[i + 1]) : INFINITY;
  }
  /// The index of the level nearest to t: how many midpoints lie below it (sixteen independent
  /// comparisons, which the compiler vectorises, rather than a chain of dependent ones).
  [[nodiscard]] unsigned nearest(float t) const {
    unsigned i = 0;
    for (std::size_t k = 0; k < 16; ++k) i += t > middle_[k] ? 1u : 0u;
    return i;
  }
  [[nodiscard]] float value(unsigned i) const { return value_[i]; }

 private:
  std::size_t size_;
  float value_[16] = {};
  float middle_[16] = {};
};

}  // namespace

unsigned nearest_grid_index(std::span<const std::int8_t> grid, float d, float x) {
  return d == 0.0f ? 0 : Grid(grid).nearest(x / d);
}

float grid_error(std::span<const float> x, float d, std::span<const std::int8_t> grid) {
  const Grid g(grid);
  const float inverse = d == 0.0f ? 0.0f : 1.0f / d;
  float error = 0.0f;
  for (float v : x) {
    const float decoded = d * g.value(g.nearest(v * inverse));
    error += (v - decoded) * (v - decoded);
  }
  return error;
}

float fit_grid(std::span<const float> x, std::span<const std::int8_t> grid) {
  constexpr int kGridSteps = 7;  // candidates: the extreme at either end, scaled by 1 +- 2% steps
  const float extreme = signed_extreme(x);
  if (extreme == 0.0f) return 0.0f;
  const Grid g(grid);
  const float low = float(grid.front()), high = float(grid.back());
  float best = extreme / low;
  float best_error = INFINITY;
  for (const float end : {low, high}) {
    for (int step = -kGridSteps; step <= kGridSteps; ++step) {
      const float inverse = end * (1.0f + 0.02f * float(step)) / extreme;
      float xx = 0.0f, xg = 0.0f, gg = 0.0f;
      for (float v : x) {
        const float level = g.value(g.nearest(v * inverse));
        xx += v * v, xg += v * level, gg += level * level;
      }
      if (gg <= 0.0f || xg == 0.0f) continue;
      const float d = xg / gg, error = xx - d * xg;  // least squares over these grid values
      if (error < best_error) best = d, best_error = error;
    }
  }
  return best;
}

}  // namespace lagvk::quant_search
