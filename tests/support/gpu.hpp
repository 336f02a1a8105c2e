#pragma once
// Test support for GPU code: one Vulkan context per test binary (validation on when LAGVK_VALIDATION=1,
// which ctest sets; its messages fail the test, see tests/support/validation.hpp), host<->GPU helpers,
// and the error measures kernel comparisons use: a normalised maximum and a per-element bound.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/vk/context.hpp"
#include "tests/support/validation.hpp"  // load_engine(): how tests load engines

namespace lagvk::test {

/// The test binary's shared context (created on first use; its messages go to validation_log()).
[[nodiscard]] vk::Context& gpu();

/// The fixture of GPU tests. Validation messages fail every test, with this fixture or without it
/// (tests/support/validation.hpp), so it adds nothing but the name.
class GpuTest : public ::testing::Test {};

template <typename T>
[[nodiscard]] vk::Buffer upload(std::span<const T> data) {
  vk::Buffer b = gpu().create_buffer(std::max<std::size_t>(data.size_bytes(), 4));
  gpu().upload(b, data);
  return b;
}
template <typename T>
[[nodiscard]] vk::Buffer upload(const std::vector<T>& data) {
  return upload(std::span<const T>(data));
}
template <typename T>
[[nodiscard]] std::vector<T> download(const vk::BufferView& b, std::size_t count) {
  std::vector<T> out(count);
  gpu().download(b, std::span<T>(out));
  return out;
}

[[nodiscard]] std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float lo = -1.0f,
                                               float hi = 1.0f);

/// Largest absolute difference, and that difference relative to the largest reference magnitude (a
/// normalised error that does not explode where the reference happens to be near zero).
struct ErrorStats {
  double max_abs = 0.0;
  double max_rel = 0.0;
  std::size_t worst_index = 0;
  bool finite = true;
};
[[nodiscard]] ErrorStats compare(std::span<const float> gpu, std::span<const float> ref);

/// A per-element bound |gpu - ref| <= atol + rtol * |ref|. The normalised maximum above measures every
/// error against the largest reference value, so it cannot see an error on a small one (a softmax over
/// 32,001 columns: the largest probability is ~1e-3, most are ~1e-5 and some 1e-9, and doubling all the
/// small ones moves the normalised error by nothing). Where the output's small values mean something,
/// kernels are checked with this as well.
struct ElementwiseTolerance {
  double atol = 0.0;
  double rtol = 0.0;
};
struct ElementwiseReport {
  std::size_t violations = 0;  ///< elements outside the bound (a non-finite value is one)
  std::size_t worst_index = 0;
  double worst_excess = 0.0;  ///< |gpu - ref| / (atol + rtol |ref|) at worst_index (> 1: outside)
  float worst_gpu = 0.0f, worst_ref = 0.0f;
  [[nodiscard]] bool ok() const { return violations == 0; }
};
[[nodiscard]] ElementwiseReport check_elementwise(std::span<const float> gpu, std::span<const float> ref,
                                                  ElementwiseTolerance tolerance);
/// "3 of 64002 elements outside |d| <= 0 + 1e-05 |ref|; worst: element 17, gpu 2e-09 vs ref 1e-09 (100000x)"
[[nodiscard]] std::string describe(const ElementwiseReport& report, ElementwiseTolerance tolerance,
                                   std::size_t elements);

}  // namespace lagvk::test
