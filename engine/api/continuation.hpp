#pragma once
// What a generation decides after each evaluated position, apart from evaluating: sample the next token,
// end at the end-of-generation token, a stop string, max_tokens or a full context, and the text each
// token adds. generate_from() drives one from a single sequence; BatchedGenerator drives many, one per
// slot, from the rows of a batched pass, so both stop and stream exactly alike.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/api/engine.hpp"

namespace lagvk {

class Continuation {
 public:
  /// `history` (the prompt) feeds the repetition penalty. Keeps references to tokenizer and options.
  Continuation(const Tokenizer& tokenizer, const GenerateOptions& options,
               std::span<const std::int32_t> history);

  struct Step {
    bool emitted = false;     ///< a token was added to the answer (else generation ended without one)
    std::int32_t token = -1;  ///< the emitted token
    std::string_view added;   ///< the text it adds (valid until the next step)
    bool finished = false;    ///< no more tokens: stop_reason() says why; else evaluate `token` next
  };

  /// True when max_tokens is 0: nothing is to be sampled.
  [[nodiscard]] bool finished() const { return finished_; }
  /// Samples from the logits after the last evaluated position. `room` tells whether the context can
  /// take one more entry (the sampled token's evaluation).
  [[nodiscard]] Step step(std::span<const float> logits, bool room);

  [[nodiscard]] std::size_t generated() const { return result_.tokens.size(); }
  /// The answer so far (tokens, text, stop reason); timings are the driver's.
  [[nodiscard]] GenerateResult& result() { return result_; }

 private:
  const Tokenizer& tok_;
  const GenerateOptions& options_;
  Sampler sampler_;
  GenerateResult result_;
  std::uint32_t steps_ = 0;
  bool finished_ = false;
};

}  // namespace lagvk
