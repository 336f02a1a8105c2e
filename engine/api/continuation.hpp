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
    /// The text it adds (valid until the next step). Bytes of a UTF-8 character that later tokens
    /// complete are held back until they arrive, so each piece is whole text; the last emitted token
    /// hands out whatever is left, and an end-of-generation token drops an unfinished character from
    /// the answer's text (the concatenated pieces always equal it).
    std::string_view added;
    bool finished = false;  ///< no more tokens: stop_reason() says why; else evaluate `token` next
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
  /// True when a stop string ends in the text after its first old_size bytes.
  [[nodiscard]] bool stop_string_ends(std::size_t old_size) const;

  const Tokenizer& tok_;
  const GenerateOptions& options_;
  Sampler sampler_;
  GenerateResult result_;
  Tokenizer::DecodeState decode_;  ///< result_.text grows by one token's text per step
  std::size_t streamed_ = 0;       ///< bytes of result_.text already handed out in Step::added
  std::uint32_t steps_ = 0;
  bool finished_ = false;
};

}  // namespace lagvk
