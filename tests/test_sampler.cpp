// Sampling: each filter against hand-computed sets, llama.cpp's repetition penalty, greedy ties,
// seeded reproducibility, and draw frequencies that match the computed distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "engine/core/error.hpp"
#include "engine/sampling/sampler.hpp"

namespace lagvk {
namespace {

std::vector<std::int32_t> ids(const std::vector<TokenCandidate>& c) {
  std::vector<std::int32_t> out;
  for (const auto& x : c) out.push_back(x.id);
  return out;
}

// Logits with probabilities exactly 0.5, 0.25, 0.125, 0.0625, 0.0625 (as log values).
std::vector<float> halving_logits() {
  return {float(std::log(0.0625)), float(std::log(0.5)), float(std::log(0.125)), float(std::log(0.25)),
          float(std::log(0.0625))};
}

TEST(Sampler, SoftmaxAndSortOrder) {
  auto c = sort_candidates(halving_logits());
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1, 3, 2, 0, 4}));  // ties: lower id first
  softmax_candidates(c);
  EXPECT_NEAR(c[0].p, 0.5, 1e-6);
  EXPECT_NEAR(c[1].p, 0.25, 1e-6);
  EXPECT_NEAR(c[4].p, 0.0625, 1e-6);
}

TEST(Sampler, TopKKeepsTheKLargest) {
  auto c = sort_candidates(halving_logits());
  top_k_filter(c, 2);
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1, 3}));
  c = sort_candidates(halving_logits());
  top_k_filter(c, 0);  // disabled
  EXPECT_EQ(c.size(), 5u);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  auto c = sort_candidates(halving_logits());
  top_p_filter(c, 0.7f);  // 0.5 < 0.7 <= 0.75
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1, 3}));
  c = sort_candidates(halving_logits());
  top_p_filter(c, 0.8f);  // 0.75 < 0.8 <= 0.875
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1, 3, 2}));
  c = sort_candidates(halving_logits());
  top_p_filter(c, 0.1f);  // at least one token
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1}));
}

TEST(Sampler, MinPKeepsTokensAboveAFractionOfTheBest) {
  auto c = sort_candidates(halving_logits());
  min_p_filter(c, 0.2f);  // threshold 0.1: keeps 0.5, 0.25, 0.125
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1, 3, 2}));
  c = sort_candidates(halving_logits());
  min_p_filter(c, 0.3f);  // threshold 0.15
  EXPECT_EQ(ids(c), (std::vector<std::int32_t>{1, 3}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce) {
  std::vector<float> l = {2.0f, -2.0f, 1.0f, 4.0f};
  const std::vector<std::int32_t> recent = {0, 1, 0, 0, 99};  // repeats count once; 99 is ignored
  apply_repetition_penalty(l, recent, 2.0f);
  EXPECT_EQ(l, (std::vector<float>{1.0f, -4.0f, 1.0f, 4.0f}));
}

TEST(Sampler, TemperatureZeroIsGreedyAndPenaltyApplies) {
  Sampler s({.temperature = 0.0f, .repeat_penalty = 4.0f, .seed = 5});
  const std::vector<float> l = {1.0f, 3.0f, 3.0f, 2.0f};
  EXPECT_EQ(s.sample(l), 1);  // tie: lowest id
  s.accept(1);
  EXPECT_EQ(s.sample(l), 2);  // 1 is penalised to 0.75
  s.accept(2);
  EXPECT_EQ(s.sample(l), 3);
  EXPECT_TRUE(s.candidates(l).empty());
}

TEST(Sampler, TemperatureScalesTheDistribution) {
  Sampler s({.temperature = 2.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f});
  const std::vector<float> l = {0.0f, float(std::log(4.0))};
  const auto c = s.candidates(l);
  ASSERT_EQ(c.size(), 2u);
  // p ~ exp(logit / 2): 1 : 2.
  EXPECT_EQ(c[0].id, 1);
  EXPECT_NEAR(c[0].p, 2.0 / 3.0, 1e-6);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> l(50);
  for (std::size_t i = 0; i < l.size(); ++i) l[i] = float(i % 7) * 0.3f;
  auto run = [&](std::uint64_t seed) {
    Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
    std::vector<std::int32_t> out;
    for (int i = 0; i < 40; ++i) out.push_back(s.sample(l));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  Sampler s({.temperature = 1.0f, .seed = 42});
  const auto a = s.sample(l);
  s.reset();
  EXPECT_EQ(s.sample(l), a);
}

// The draw is specified arithmetic on std::mt19937_64 (whose output the C++ standard fixes): a uniform
// u = (engine() >> 11) * 2^-53, then the first candidate, in sorted order, whose cumulative probability
// exceeds u. Replaying that here pins the token sequence for a seed on every platform.
TEST(Sampler, SeededDrawIsTheDocumentedInverseCdf) {
  std::mt19937_64 engine(2024);
  Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 2024});
  const auto l = halving_logits();
  const std::int32_t order[] = {1, 3, 2, 0, 4};
  const double cumulative[] = {0.5, 0.75, 0.875, 0.9375, 1.0};
  for (int i = 0; i < 200; ++i) {
    const double u = double(engine() >> 11) * 0x1.0p-53;
    std::size_t k = 0;
    while (k < 4 && !(u < cumulative[k])) ++k;
    ASSERT_EQ(s.sample(l), order[k]) << "draw " << i;
  }
  std::mt19937_64 standard;  // the standard's own check of the engine: 10000th output of the default seed
  standard.discard(9999);
  EXPECT_EQ(standard(), 9981545732273789042ull);
}

TEST(Sampler, DrawFrequenciesFollowTheProbabilities) {
  Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 9});
  const auto l = halving_logits();
  std::map<std::int32_t, int> count;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++count[s.sample(l)];
  EXPECT_NEAR(count[1] / double(n), 0.5, 0.02);
  EXPECT_NEAR(count[3] / double(n), 0.25, 0.02);
  EXPECT_NEAR(count[0] / double(n), 0.0625, 0.01);
}

TEST(Sampler, FiltersRestrictTheDraw) {
  Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 0.7f, .min_p = 0.0f, .seed = 3});
  const auto l = halving_logits();
  for (int i = 0; i < 500; ++i) {
    const auto t = s.sample(l);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(Sampler, RejectsBadParameters) {
  EXPECT_THROW(Sampler({.repeat_penalty = 0.0f}), Error);
  EXPECT_THROW(Sampler({.top_p = 0.0f}), Error);
  Sampler s({});
  EXPECT_THROW((void)s.sample({}), Error);
}

}  // namespace
}  // namespace lagvk
