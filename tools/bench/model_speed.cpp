#include "tools/bench/model_speed.hpp"

#include <algorithm>
#include <numeric>

#include "engine/core/error.hpp"
#include "tools/bench/timing.hpp"

namespace lagvk::bench {

namespace {

/// Evaluates `tokens` at the sequence's next positions; returns the logits of the last one.
std::vector<float> append(Engine& engine, KvSequence& seq, std::span<const std::int32_t> tokens) {
  std::vector<std::int32_t> positions(tokens.size());
  std::iota(positions.begin(), positions.end(), std::int32_t(seq.length()));
  return engine.forward().eval(seq, tokens, positions);
}

std::int32_t greedy(const std::vector<float>& logits) {
  return std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace

std::vector<std::int32_t> bench_tokens(std::uint32_t count, std::uint32_t vocab, std::uint32_t salt) {
  const std::uint32_t first = vocab > 520 ? 259 : 3, span = vocab - first;
  std::vector<std::int32_t> out(count);
  for (std::uint32_t i = 0; i < count; ++i)
    out[i] = std::int32_t(first + (std::uint64_t(i + salt) * 7919) % span);
  return out;
}

ModelSpeed measure_model_speed(Engine& engine, const ModelTest& test) {
  const std::uint32_t need = test.depth + std::max(test.prompt_tokens, test.gen_tokens);
  if (need > engine.context_tokens())
    fail("a test at depth {} needs {} tokens of context; the engine holds {}", test.depth, need,
         engine.context_tokens());
  const std::uint32_t vocab = engine.config().vocab;
  const auto context = bench_tokens(test.depth, vocab, 1);
  const auto prompt = bench_tokens(test.prompt_tokens, vocab, 2);
  ModelSpeed r;
  r.test = test;
  double best_prefill = 1e30, best_decode = 1e30;
  for (int rep = 0; rep < std::max(1, test.reps); ++rep) {
    auto seq = engine.new_sequence();
    std::int32_t token = 300 % std::int32_t(vocab);
    if (test.depth > 0) token = greedy(append(engine, *seq, context));
    if (test.prompt_tokens > 0) {
      const auto t0 = Clock::now();
      token = greedy(append(engine, *seq, prompt));
      best_prefill = std::min(best_prefill, seconds_since(t0));
      seq->truncate(test.depth);  // decode starts from the same depth
    }
    if (test.gen_tokens > 0) {
      const auto t0 = Clock::now();
      for (std::uint32_t g = 0; g < test.gen_tokens; ++g)
        token = greedy(append(engine, *seq, std::span<const std::int32_t>(&token, 1)));
      best_decode = std::min(best_decode, seconds_since(t0));
    }
  }
  if (test.prompt_tokens > 0) {
    r.prefill_ms = best_prefill * 1e3;
    r.prefill_tps = test.prompt_tokens / best_prefill;
  }
  if (test.gen_tokens > 0) {
    r.decode_ms = best_decode * 1e3;
    r.decode_tps = test.gen_tokens / best_decode;
  }
  return r;
}

}  // namespace lagvk::bench
