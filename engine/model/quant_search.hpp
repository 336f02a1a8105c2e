#pragma once
// Scale searches shared by the block encoders whose scales are free to choose (the K-quants, IQ4_NL,
// IQ4_XS). Mapping a block's extreme value to the end of the integer range (the simplest choice) wastes
// levels on one outlier; these try a range of scales around it, refit each by least squares against the
// integers it rounds to, and keep the one with the smallest squared error of the decoded values, which
// is the error `lagvk quantize` reports. Own implementation; ggml's reference quantizers do a search of
// the same spirit (weighted differently), so lagvk's error per tensor is at most theirs.
#include <cstddef>
#include <cstdint>
#include <span>

namespace lagvk::quant_search {

/// The scale d for x ≈ d * q with integers q in [qmin, qmax] (rounded to nearest) that gives the
/// smallest squared error; 0 for an all-zero block. d may be negative (the extreme then maps to qmax).
[[nodiscard]] float fit_symmetric(std::span<const float> x, int qmin, int qmax);

/// Squared error of x against d * clamp(round(x / d), qmin, qmax).
[[nodiscard]] float symmetric_error(std::span<const float> x, float d, int qmin, int qmax);

/// x ≈ scale * q - min with integers q in [0, qmax], scale >= 0 and min >= 0 (the K-quants store both
/// unsigned).
struct ScaleMin {
  float scale = 0.0f;
  float min = 0.0f;
};
[[nodiscard]] ScaleMin fit_scale_min(std::span<const float> x, int qmax);

/// Squared error of x against scale * clamp(round((x + min) / scale), 0, qmax) - min.
[[nodiscard]] float scale_min_error(std::span<const float> x, float scale, float min, int qmax);

/// The scale d for x ≈ d * grid[q] (each x to its nearest grid value) with the smallest squared error.
[[nodiscard]] float fit_grid(std::span<const float> x, std::span<const std::int8_t> grid);

/// Index of the grid value nearest to x / d (0 when d is 0).
[[nodiscard]] unsigned nearest_grid_index(std::span<const std::int8_t> grid, float d, float x);

/// Squared error of x against d * grid[nearest].
[[nodiscard]] float grid_error(std::span<const float> x, float d, std::span<const std::int8_t> grid);

}  // namespace lagvk::quant_search
