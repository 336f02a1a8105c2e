#pragma once
// A small SentencePiece-style vocabulary for generated test models: <unk>, <s>, </s>, the 256 byte
// tokens, then "▁", single characters, and common English words with the prefix chains that the
// SentencePiece merge needs to reach them, scored in descending order.
#include <cstdint>
#include <string>
#include <vector>

namespace lagvk {

class GgufWriter;

/// tokenizer.ggml.token_type values.
enum class TokenType : std::int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

struct Vocabulary {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;  ///< TokenType values
  std::int32_t unk_id = 0, bos_id = 1, eos_id = 2;
};

/// Exactly `size` tokens (at least 260). Deterministic.
[[nodiscard]] Vocabulary make_synthetic_vocab(std::size_t size);

/// A vocabulary made for a known text domain (the trained multihop model): control and byte tokens, "▁",
/// printable ASCII characters, then each word (spaces written as "▁") with its prefix chain. Scores grow
/// with length and pieces that start with "▁" outrank the rest, so every listed word that follows a
/// space (or starts a text) becomes one token.
[[nodiscard]] Vocabulary make_word_vocab(const std::vector<std::string>& words);

/// Writes `vocab` as a SentencePiece ("llama") tokenizer: tokens, scores, types and the unknown, BOS and
/// EOS ids (the flags such as add_bos_token are the caller's).
void write_spm_vocabulary(GgufWriter& w, const Vocabulary& vocab);

}  // namespace lagvk
