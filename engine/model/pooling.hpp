#pragma once
// From per-token hidden states to one sentence vector, as the model file's pooling_type says: the host
// side of every embedding model (the CPU reference and the GPU forward pass share it).
#include <cstddef>
#include <span>
#include <vector>

#include "engine/model/model_config.hpp"

namespace lagvk {

/// One vector of `dim` floats from `tokens` rows of hidden states (tokens x dim, row-major): their mean,
/// or the first row (cls: the [CLS] token's), or the last row. Fails for none and rank, which make no
/// sentence vector, naming the pooling type.
[[nodiscard]] std::vector<float> pool_tokens(std::span<const float> hidden, std::size_t tokens,
                                             std::size_t dim, Pooling pooling);

/// Scales v to unit Euclidean length (in double); a zero vector stays zero.
void l2_normalize(std::span<float> v);

}  // namespace lagvk
