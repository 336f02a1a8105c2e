#pragma once
// A model's prefill and decode speed at a context depth, as llama-bench's pp and tg tests measure them:
// `depth` tokens already in the cache (evaluated untimed), then a timed prefill of `prompt_tokens` in
// passes of the engine's max batch, and, from the same depth again, `gen_tokens` timed single-token
// steps that feed back the greedy token (the argmax over the logits is part of each step).
#include <cstdint>
#include <span>
#include <vector>

#include "engine/api/engine.hpp"

namespace lagvk::bench {

struct ModelTest {
  std::uint32_t depth = 0;
  std::uint32_t prompt_tokens = 128;  ///< 0: no prefill test
  std::uint32_t gen_tokens = 64;      ///< 0: no decode test
  int reps = 2;                       ///< best of
};

struct ModelSpeed {
  ModelTest test;
  double prefill_ms = 0, prefill_tps = 0;  ///< best rep
  double decode_ms = 0, decode_tps = 0;
};

/// Deterministic prompt ids spread over the vocabulary (above the first 259, usually special and byte
/// tokens).
[[nodiscard]] std::vector<std::int32_t> bench_tokens(std::uint32_t count, std::uint32_t vocab,
                                                     std::uint32_t salt = 0);

/// Measures one test; the engine's context must hold depth + max(prompt_tokens, gen_tokens) tokens.
[[nodiscard]] ModelSpeed measure_model_speed(Engine& engine, const ModelTest& test);

}  // namespace lagvk::bench
