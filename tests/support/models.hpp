#pragma once
// The small random model most LAG and KV tests run on: 2 layers, width 128, 4 query heads over 2 KV
// heads (grouped-query), feed-forward 256.
#include <cstdint>

#include "engine/model/random_model.hpp"

namespace lagvk::test {

[[nodiscard]] inline RandomModelSpec small_model_spec(GgmlType type, std::uint64_t seed,
                                                      std::uint32_t vocab = 600) {
  RandomModelSpec spec;
  spec.type = type;
  spec.n_layers = 2;
  spec.n_embd = 128;
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_ff = 256;
  spec.n_vocab = vocab;
  spec.seed = seed;
  return spec;
}

}  // namespace lagvk::test
