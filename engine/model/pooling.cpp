#include "engine/model/pooling.hpp"

#include <algorithm>
#include <cmath>

#include "engine/core/error.hpp"

namespace lagvk {

std::vector<float> pool_tokens(std::span<const float> hidden, std::size_t tokens, std::size_t dim,
                               Pooling pooling) {
  if (tokens == 0 || hidden.size() < tokens * dim)
    fail("internal: pooling {} rows of {} from {} values", tokens, dim, hidden.size());
  auto row = [&](std::size_t t) { return hidden.subspan(t * dim, dim); };
  switch (pooling) {
    case Pooling::mean: {
      std::vector<double> sum(dim, 0.0);
      for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t d = 0; d < dim; ++d) sum[d] += row(t)[d];
      std::vector<float> out(dim);
      for (std::size_t d = 0; d < dim; ++d) out[d] = float(sum[d] / double(tokens));
      return out;
    }
    case Pooling::cls: {
      const auto r = row(0);
      return {r.begin(), r.end()};
    }
    case Pooling::last: {
      const auto r = row(tokens - 1);
      return {r.begin(), r.end()};
    }
    case Pooling::none:
    case Pooling::rank:
      break;
  }
  fail(Errc::unsupported_model,
       "the model's pooling type is '{}', which makes no sentence vector; lagvk embeds with mean, cls or "
       "last-token pooling",
       pooling_name(pooling));
}

void l2_normalize(std::span<float> v) {
  double ss = 0.0;
  for (float x : v) ss += double(x) * double(x);
  if (ss == 0.0) return;
  const double inv = 1.0 / std::sqrt(ss);
  for (float& x : v) x = float(double(x) * inv);
}

}  // namespace lagvk
