#pragma once
// The one-sided sign test for paired outcomes (two systems on the same questions): only the discordant
// pairs count (one system right and the other wrong, or one faster and the other slower); under the null
// hypothesis that neither is better each discordant pair goes either way with probability 1/2, so the
// number won is Binomial(n, 1/2) with n the discordant pairs. The LAG-effect test states its bounds with
// it (tests/test_multihop.cpp).
#include <cstdint>

namespace lagvk::test {

/// P(X >= k) for X ~ Binomial(n, 1/2), summed exactly term by term (no normal approximation);
/// 1 when k is 0, 0 when k > n. n is at most 1000 (2^-n stays a normal double).
[[nodiscard]] double binomial_half_upper_tail(std::uint32_t n, std::uint32_t k);

/// The one-sided sign test's p-value for "the first system is better": the chance of at least `wins`
/// wins among `wins + losses` discordant pairs if both systems were equally good. Ties are not passed.
[[nodiscard]] double sign_test_p(std::uint32_t wins, std::uint32_t losses);

}  // namespace lagvk::test
