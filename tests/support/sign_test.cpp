#include "tests/support/sign_test.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lagvk::test {

double binomial_half_upper_tail(std::uint32_t n, std::uint32_t k) {
  if (n > 1000) throw std::invalid_argument("binomial_half_upper_tail: n above 1000");
  if (k > n) return 0.0;
  // P(X = i) = C(n, i) / 2^n, from P(X = 0) = 2^-n by P(X = i + 1) = P(X = i) (n - i) / (i + 1).
  double term = std::ldexp(1.0, -int(n));
  double tail = 0.0;
  for (std::uint32_t i = 0; i <= n; ++i) {
    if (i >= k) tail += term;
    term = term * double(n - i) / double(i + 1);
  }
  return std::min(tail, 1.0);
}

double sign_test_p(std::uint32_t wins, std::uint32_t losses) {
  return binomial_half_upper_tail(wins + losses, wins);
}

}  // namespace lagvk::test
