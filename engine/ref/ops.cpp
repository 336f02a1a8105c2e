#include "engine/ref/ops.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace lagvk::ref {

void matmul_abt(std::span<const float> a, std::span<const float> b, std::span<float> c, std::size_t m,
                std::size_t n, std::size_t k) {
  assert(a.size() >= m * k && b.size() >= n * k && c.size() >= m * n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (std::size_t p = 0; p < k; ++p) acc += double(a[i * k + p]) * double(b[j * k + p]);
      c[i * n + j] = float(acc);
    }
  }
}

void matvec(std::span<const float> w, std::span<const float> x, std::span<float> y, std::size_t n,
            std::size_t k) {
  matmul_abt(x, w, y, 1, n, k);
}

void rmsnorm(std::span<const float> x, std::span<const float> weight, std::span<float> y, std::size_t rows,
             std::size_t dim, float eps) {
  for (std::size_t r = 0; r < rows; ++r) {
    double ss = 0.0;
    for (std::size_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * double(x[r * dim + i]);
    const double inv = 1.0 / std::sqrt(ss / double(dim) + double(eps));
    for (std::size_t i = 0; i < dim; ++i)
      y[r * dim + i] = float(double(x[r * dim + i]) * inv * double(weight[i]));
  }
}

double rope_theta(const RopeParams& params, std::size_t head_dim, std::size_t pair, double pos) {
  const std::size_t n = params.rot_dims ? params.rot_dims : head_dim;
  double theta = pos * std::pow(double(params.freq_base), -2.0 * double(pair) / double(n));
  if (!params.freq_factors.empty()) theta /= double(params.freq_factors[pair]);
  return theta * double(params.freq_scale);
}

void rope(std::span<float> x, std::span<const std::int32_t> positions, std::size_t heads,
          std::size_t head_dim, const RopeParams& params, bool inverse) {
  const std::size_t n = params.rot_dims ? params.rot_dims : head_dim;
  for (std::size_t t = 0; t < positions.size(); ++t) {
    for (std::size_t h = 0; h < heads; ++h) {
      float* v = &x[(t * heads + h) * head_dim];
      for (std::size_t i = 0; i < n / 2; ++i) {
        double theta = rope_theta(params, head_dim, i, double(positions[t]));
        if (inverse) theta = -theta;
        const std::size_t i0 = params.mode == RopeMode::normal ? 2 * i : i;
        const std::size_t i1 = params.mode == RopeMode::normal ? 2 * i + 1 : i + n / 2;
        const double c = std::cos(theta), s = std::sin(theta);
        const double x0 = v[i0], x1 = v[i1];
        v[i0] = float(x0 * c - x1 * s);
        v[i1] = float(x0 * s + x1 * c);
      }
    }
  }
}

void softmax(std::span<const float> x, std::span<float> y, std::size_t rows, std::size_t cols, float scale) {
  for (std::size_t r = 0; r < rows; ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < cols; ++i) mx = std::max(mx, double(x[r * cols + i]) * scale);
    double sum = 0.0;
    for (std::size_t i = 0; i < cols; ++i) sum += std::exp(double(x[r * cols + i]) * scale - mx);
    for (std::size_t i = 0; i < cols; ++i)
      y[r * cols + i] = float(std::exp(double(x[r * cols + i]) * scale - mx) / sum);
  }
}

void layernorm(std::span<const float> x, std::span<const float> weight, std::span<const float> bias,
               std::span<float> y, std::size_t rows, std::size_t dim, float eps) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = &x[r * dim];
    double mean = 0.0;
    for (std::size_t i = 0; i < dim; ++i) mean += row[i];
    mean /= double(dim);
    double var = 0.0;
    for (std::size_t i = 0; i < dim; ++i) var += (row[i] - mean) * (row[i] - mean);
    const double inv = 1.0 / std::sqrt(var / double(dim) + double(eps));
    for (std::size_t i = 0; i < dim; ++i)
      y[r * dim + i] = float((row[i] - mean) * inv * double(weight[i]) + double(bias[i]));
  }
}

void gelu(std::span<const float> x, std::span<float> out) {
  constexpr double kSqrt2OverPi = 0.79788456080286535588;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double v = x[i];
    out[i] = float(0.5 * v * (1.0 + std::tanh(kSqrt2OverPi * (v + 0.044715 * v * v * v))));
  }
}

void geglu(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  constexpr double kSqrt2OverPi = 0.79788456080286535588;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    out[i] = float(0.5 * g * (1.0 + std::tanh(kSqrt2OverPi * (g + 0.044715 * g * g * g))) * double(up[i]));
  }
}

void softcap(std::span<const float> x, std::span<float> out, float cap) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = float(double(cap) * std::tanh(double(x[i]) / cap));
}

void scale(std::span<const float> x, std::span<float> out, float factor) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = float(double(x[i]) * factor);
}

void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    out[i] = float(g / (1.0 + std::exp(-g)) * double(up[i]));
  }
}

void add(std::span<const float> a, std::span<const float> b, std::span<float> c) {
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = a[i] + b[i];
}

void embedding(std::span<const float> table, std::span<const std::int32_t> ids, std::span<float> out,
               std::size_t dim) {
  for (std::size_t t = 0; t < ids.size(); ++t)
    std::copy_n(table.begin() + std::ptrdiff_t(std::size_t(ids[t]) * dim), dim,
                out.begin() + std::ptrdiff_t(t * dim));
}

void attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
               std::span<float> out, std::size_t tokens, std::size_t q_heads, std::size_t kv_heads,
               std::size_t head_dim, std::size_t kv_start, float scale, bool causal, std::size_t window,
               float softcap) {
  const std::size_t group = q_heads / kv_heads;
  std::vector<double> scores;
  for (std::size_t t = 0; t < tokens; ++t) {
    const std::size_t visible = causal ? kv_start + t + 1 : kv_start + tokens;
    // Entries before `first` are outside the query's sliding window (none when window is 0).
    const std::size_t self = kv_start + t;
    const std::size_t first = window > 0 && self + 1 > window ? self + 1 - window : 0;
    for (std::size_t h = 0; h < q_heads; ++h) {
      scores.assign(visible, -std::numeric_limits<double>::infinity());
      const std::size_t kh = h / group;
      const float* qv = &q[(t * q_heads + h) * head_dim];
      double mx = -std::numeric_limits<double>::infinity();
      for (std::size_t j = first; j < visible; ++j) {
        const float* kv = &k[(j * kv_heads + kh) * head_dim];
        double dot = 0.0;
        for (std::size_t d = 0; d < head_dim; ++d) dot += double(qv[d]) * double(kv[d]);
        scores[j] = dot * scale;
        if (softcap > 0.0f) scores[j] = softcap * std::tanh(scores[j] / softcap);
        mx = std::max(mx, scores[j]);
      }
      double sum = 0.0;
      for (auto& s : scores) sum += (s = std::exp(s - mx));
      float* o = &out[(t * q_heads + h) * head_dim];
      for (std::size_t d = 0; d < head_dim; ++d) {
        double acc = 0.0;
        for (std::size_t j = 0; j < visible; ++j)
          acc += scores[j] * double(v[(j * kv_heads + kh) * head_dim + d]);
        o[d] = float(acc / sum);
      }
    }
  }
}

}  // namespace lagvk::ref
