// Sanity checks of the CPU reference itself against hand-computed values, so that the reference that
// judges every kernel is not simply trusted.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/ref/ops.hpp"

namespace lagvk::ref {
namespace {

TEST(RefOps, MatmulSmall) {
  std::vector<float> a = {1, 2, 3, 4, 5, 6};  // 2x3
  std::vector<float> b = {1, 0, 1, 0, 1, 0};  // 2x3
  std::vector<float> c(4);
  matmul_abt(a, b, c, 2, 2, 3);
  EXPECT_EQ(c, (std::vector<float>{4, 2, 10, 5}));
}

TEST(RefOps, RopeNormalRotatesAdjacentPairsByPositionTimesFrequency) {
  std::vector<float> x = {1, 0, 1, 0};  // one token, one head, head_dim 4
  std::vector<std::int32_t> pos = {3};
  RopeParams p;
  p.freq_base = 100.0f;
  rope(x, pos, 1, 4, p);
  // pair 0: theta = 3; pair 1: theta = 3 * 100^(-1/2) = 0.3
  EXPECT_NEAR(x[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(x[1], std::sin(3.0), 1e-6);
  EXPECT_NEAR(x[2], std::cos(0.3), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.3), 1e-6);
}

TEST(RefOps, RopeNeoxPairsHalves) {
  std::vector<float> x = {1, 1, 0, 0};
  std::vector<std::int32_t> pos = {2};
  RopeParams p;
  p.mode = RopeMode::neox;
  p.freq_base = 100.0f;
  rope(x, pos, 1, 4, p);
  EXPECT_NEAR(x[0], std::cos(2.0), 1e-6);
  EXPECT_NEAR(x[2], std::sin(2.0), 1e-6);
  EXPECT_NEAR(x[1], std::cos(0.2), 1e-6);
  EXPECT_NEAR(x[3], std::sin(0.2), 1e-6);
}

TEST(RefOps, RopeInverseUndoesRotation) {
  std::vector<float> x = {0.3f, -1.2f, 2.5f, 0.7f, 1.0f, -0.5f};
  const auto orig = x;
  std::vector<std::int32_t> pos = {1234};
  std::vector<float> factors = {1.0f, 4.0f, 8.0f};
  RopeParams p;
  p.freq_factors = factors;
  rope(x, pos, 1, 6, p);
  rope(x, pos, 1, 6, p, /*inverse=*/true);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], orig[i], 1e-5);
}

TEST(RefOps, AttentionFirstTokenCopiesItsValue) {
  std::vector<float> q = {1, 2}, k = {3, 4}, v = {5, -6}, out(2);
  attention(q, k, v, out, 1, 1, 1, 2, 0, 1.0f);
  EXPECT_FLOAT_EQ(out[0], 5);
  EXPECT_FLOAT_EQ(out[1], -6);
}

TEST(RefOps, AttentionWeightsBySoftmax) {
  // Two keys with scores 0 and log(3): weights 1/4 and 3/4.
  std::vector<float> q = {1}, k = {0, float(std::log(3.0))}, v = {4, 8}, out(1);
  attention(q, k, v, out, 1, 1, 1, 1, 1, 1.0f);
  EXPECT_NEAR(out[0], 7.0, 1e-5);
}

TEST(RefOps, RmsnormAndSwiglu) {
  std::vector<float> x = {3, 4}, w = {1, 2}, y(2);
  rmsnorm(x, w, y, 1, 2, 0.0f);
  const double rms = std::sqrt(12.5);
  EXPECT_NEAR(y[0], 3 / rms, 1e-6);
  EXPECT_NEAR(y[1], 8 / rms, 1e-6);
  std::vector<float> g = {0.0f, 2.0f}, u = {5.0f, 3.0f}, o(2);
  swiglu(g, u, o);
  EXPECT_NEAR(o[0], 0.0, 1e-7);
  EXPECT_NEAR(o[1], 2.0 / (1.0 + std::exp(-2.0)) * 3.0, 1e-6);
}

TEST(RefOps, LayernormAndGelu) {
  // Row {1, 3}: mean 2, variance 1, so the normalised row is {-1, 1}, then scaled and shifted.
  std::vector<float> x = {1, 3, 10, 10}, w = {2, 3}, b = {0.5f, -1}, y(4);
  layernorm(x, w, b, y, 2, 2, 0.0f);
  EXPECT_NEAR(y[0], -2 + 0.5, 1e-6);
  EXPECT_NEAR(y[1], 3 - 1, 1e-6);
  // A constant row has no variance: eps keeps it finite and the output is the bias.
  layernorm(std::span<const float>(x).subspan(2), w, b, std::span<float>(y).subspan(2), 1, 2, 1e-5f);
  EXPECT_NEAR(y[2], 0.5, 1e-6);
  EXPECT_NEAR(y[3], -1, 1e-6);
  // gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): 0 at 0, about x far right, about 0 far left.
  std::vector<float> g = {0.0f, 1.0f, 8.0f, -8.0f}, o(4);
  gelu(g, o);
  EXPECT_EQ(o[0], 0.0f);
  EXPECT_NEAR(o[1], 0.5 * (1 + std::tanh(std::sqrt(2 / M_PI) * 1.044715)), 1e-6);
  EXPECT_NEAR(o[2], 8.0, 1e-6);
  EXPECT_NEAR(o[3], 0.0, 1e-6);
}

TEST(RefOps, BidirectionalAttentionSeesLaterTokens) {
  // Two tokens, one head of dimension 1, equal scores: causal token 0 sees only v0, bidirectional sees
  // the mean of v0 and v1.
  std::vector<float> q = {0, 0}, k = {1, 1}, v = {2, 4}, causal(2), both(2);
  attention(q, k, v, causal, 2, 1, 1, 1, 0, 1.0f, true);
  attention(q, k, v, both, 2, 1, 1, 1, 0, 1.0f, false);
  EXPECT_NEAR(causal[0], 2, 1e-6);
  EXPECT_NEAR(causal[1], 3, 1e-6);
  EXPECT_NEAR(both[0], 3, 1e-6);
  EXPECT_NEAR(both[1], 3, 1e-6);
}

}  // namespace
}  // namespace lagvk::ref
