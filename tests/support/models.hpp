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

/// A random model of the given shape (context 512 unless changed).
[[nodiscard]] inline RandomModelSpec model_spec(GgmlType type, std::uint32_t layers, std::uint32_t dim,
                                                std::uint32_t heads, std::uint32_t kv_heads, std::uint32_t ff,
                                                std::uint32_t vocab, std::uint64_t seed) {
  RandomModelSpec s;
  s.type = type;
  s.n_layers = layers;
  s.n_embd = dim;
  s.n_head = heads;
  s.n_head_kv = kv_heads;
  s.n_ff = ff;
  s.n_vocab = vocab;
  s.n_ctx = 512;
  s.seed = seed;
  return s;
}

}  // namespace lagvk::test
