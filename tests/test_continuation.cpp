// What a generation streams (engine/api/continuation.cpp): the text grows by one token's piece per step
// (decoding the whole answer again each step made a long generation quadratic), pieces hand out whole
// UTF-8 characters even when byte tokens split one, and stop strings are found across token boundaries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/api/continuation.hpp"

namespace lagvk {
namespace {

constexpr std::int32_t kEndOfGeneration = 6;

/// A tokenizer whose token i renders as pieces[i]; counts the ids it decodes.
class PieceTokenizer final : public Tokenizer {
 public:
  explicit PieceTokenizer(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}

  std::vector<std::int32_t> encode_segments(std::span<const TextSegment>, bool) const override { return {}; }
  void decode_append(std::string& out, DecodeState& state, std::int32_t id, bool) const override {
    ++decoded_ids;
    state.started = true;
    out += pieces_[std::size_t(id)];
  }
  std::string token_to_piece(std::int32_t id, bool) const override { return pieces_[std::size_t(id)]; }
  const std::string& token_text(std::int32_t id) const override { return pieces_[std::size_t(id)]; }
  std::optional<std::int32_t> find_token(std::string_view) const override { return std::nullopt; }
  std::int32_t bos() const override { return -1; }
  std::int32_t eos() const override { return -1; }
  bool add_bos_by_default() const override { return false; }
  std::size_t vocab_size() const override { return pieces_.size(); }
  bool is_end_of_generation(std::int32_t id) const override { return id == kEndOfGeneration; }

  mutable std::size_t decoded_ids = 0;

 private:
  std::vector<std::string> pieces_;
};

/// Tokens 0..3: "a", and the three bytes of the euro sign (U+20AC, E2 82 AC) as separate tokens; then
/// "ST", "OP" and the end-of-generation token.
const std::vector<std::string> kPieces = {"a", "\xE2", "\x82", "\xAC", "ST", "OP", ""};

GenerateOptions greedy(std::uint32_t max_tokens) {
  GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampling.temperature = 0.0f;
  return o;
}

/// Logits that make greedy sampling pick `token`.
std::vector<float> pick(std::int32_t token) {
  std::vector<float> logits(kPieces.size(), 0.0f);
  logits[std::size_t(token)] = 1.0f;
  return logits;
}

struct Streamed {
  std::vector<std::string> pieces;
  std::string text;  ///< the continuation's final text
  std::string stop_reason;
};

Streamed run(const Tokenizer& tok, const GenerateOptions& options, const std::vector<std::int32_t>& tokens) {
  Continuation c(tok, options, {});
  Streamed out;
  for (auto t : tokens) {
    const auto step = c.step(pick(t), /*room=*/true);
    if (step.emitted) out.pieces.emplace_back(step.added);
    if (step.finished) break;
  }
  out.text = c.result().text;
  out.stop_reason = c.result().stop_reason;
  return out;
}

std::string joined(const std::vector<std::string>& pieces) {
  std::string all;
  for (const auto& p : pieces) all += p;
  return all;
}

TEST(Continuation, DecodesEachGeneratedTokenOnce) {
  PieceTokenizer tok(kPieces);
  constexpr std::uint32_t kSteps = 2000;
  const auto s = run(tok, greedy(kSteps), std::vector<std::int32_t>(kSteps, 0));
  EXPECT_EQ(s.text, std::string(kSteps, 'a'));
  // Decoding the whole answer every step would decode kSteps * (kSteps + 1) / 2 ids.
  EXPECT_EQ(tok.decoded_ids, kSteps);
}

TEST(Continuation, HoldsBackBytesUntilTheCharacterIsWhole) {
  PieceTokenizer tok(kPieces);
  const auto s = run(tok, greedy(10), {0, 1, 2, 3, 0});
  EXPECT_EQ(s.pieces, (std::vector<std::string>{"a", "", "", "\xE2\x82\xAC", "a"}));
  EXPECT_EQ(joined(s.pieces), s.text);
}

TEST(Continuation, LastStepHandsOutAnUnfinishedCharacter) {
  PieceTokenizer tok(kPieces);
  const auto s = run(tok, greedy(3), {0, 1, 2});
  EXPECT_EQ(s.stop_reason, "max_tokens");
  EXPECT_EQ(s.pieces, (std::vector<std::string>{"a", "", "\xE2\x82"}));
  EXPECT_EQ(joined(s.pieces), s.text);
}

TEST(Continuation, EndOfGenerationDropsAnUnfinishedCharacterFromStreamAndText) {
  PieceTokenizer tok(kPieces);
  const auto s = run(tok, greedy(10), {0, 1, 2, kEndOfGeneration});
  EXPECT_EQ(s.stop_reason, "end_of_generation");
  EXPECT_EQ(s.text, "a");
  EXPECT_EQ(joined(s.pieces), s.text);
}

TEST(Continuation, FindsAStopStringAcrossTokens) {
  PieceTokenizer tok(kPieces);
  GenerateOptions options = greedy(10);
  options.stop_strings = {"aSTO"};
  const auto s = run(tok, options, {0, 0, 4, 5, 0, 0});
  EXPECT_EQ(s.stop_reason, "stop_string");
  EXPECT_EQ(s.text, "aaSTOP");  // the stop string stays in the text
  EXPECT_EQ(joined(s.pieces), s.text);
}

}  // namespace
}  // namespace lagvk
