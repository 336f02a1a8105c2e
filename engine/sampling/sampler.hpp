#pragma once
// Next-token sampling with llama.cpp's semantics and order: repetition penalty -> top-k -> top-p ->
// min-p -> temperature -> draw. Random draws use std::mt19937_64 (specified bit for bit) and explicit
// arithmetic instead of std distributions, so a seed gives the same tokens on every platform.
#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace lagvk {

struct SamplerParams {
  float temperature = 0.8f;         ///< <= 0: greedy (argmax, lowest id on ties)
  std::int32_t top_k = 40;          ///< <= 0: disabled
  float top_p = 0.95f;              ///< >= 1: disabled
  float min_p = 0.05f;              ///< <= 0: disabled
  float repeat_penalty = 1.0f;      ///< 1: disabled
  std::int32_t repeat_last_n = 64;  ///< how many recent tokens the penalty looks at
  std::uint64_t seed = 0;
};

struct TokenCandidate {
  std::int32_t id = 0;
  float logit = 0.0f;
  double p = 0.0;  ///< probability after softmax (set by softmax_candidates)
};

// The individual steps, exposed for tests and for callers that build their own chain. Candidates are
// kept sorted by logit, descending, ids ascending on ties, from sort_candidates on.

/// llama.cpp's penalty: each distinct recent token's logit is divided by penalty when positive and
/// multiplied by it otherwise (once, however often the token occurred).
void apply_repetition_penalty(std::span<float> logits, std::span<const std::int32_t> recent, float penalty);
[[nodiscard]] std::vector<TokenCandidate> sort_candidates(std::span<const float> logits);
void top_k_filter(std::vector<TokenCandidate>& c, std::int32_t k);
/// Keeps the smallest prefix whose probability reaches p (at least one token).
void top_p_filter(std::vector<TokenCandidate>& c, float p);
/// Keeps tokens whose probability is at least min_p times the largest.
void min_p_filter(std::vector<TokenCandidate>& c, float min_p);
/// Sets p from logit / temperature (temperature > 0).
void softmax_candidates(std::vector<TokenCandidate>& c, float temperature = 1.0f);
/// Index of the largest logit, lowest index on ties.
[[nodiscard]] std::int32_t argmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(SamplerParams params);

  /// Picks the next token from logits (n_vocab values). Does not record it: call accept().
  [[nodiscard]] std::int32_t sample(std::span<const float> logits);
  /// Records a token of the context (prompt or generated) for the repetition penalty.
  void accept(std::int32_t token);
  /// Forgets the history and restarts the random sequence from the seed.
  void reset();

  /// The candidates sample() would draw from, with final probabilities (empty for greedy).
  [[nodiscard]] std::vector<TokenCandidate> candidates(std::span<const float> logits) const;
  [[nodiscard]] const SamplerParams& params() const { return params_; }

 private:
  [[nodiscard]] std::vector<float> penalized(std::span<const float> logits) const;
  /// Uniform in [0, 1) from the top 53 bits of one engine output.
  double uniform();

  SamplerParams params_;
  std::mt19937_64 rng_;
  std::deque<std::int32_t> recent_;
};

}  // namespace lagvk
