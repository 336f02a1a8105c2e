#pragma once
// SentencePiece tokenization as llama.cpp does it for tokenizer.ggml.model = "llama": spaces become
// U+2581, a space is prefixed, then adjacent pieces are merged greedily by vocabulary score (best
// first, leftmost on ties), and characters missing from the vocabulary fall back to <0xXX> byte tokens.
#include "engine/tokenizer/special_tokens.hpp"
#include "engine/tokenizer/vocab_tokenizer.hpp"

namespace lagvk {

class SpmTokenizer final : public VocabTokenizer {
 public:
  explicit SpmTokenizer(TokenVocab vocab);
  SpmTokenizer(const SpmTokenizer&) = delete;  // specials_ refers to this object's vocab_
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;

  [[nodiscard]] std::vector<std::int32_t> encode_segments(std::span<const TextSegment> segments,
                                                          bool add_bos) const override;
  void decode_append(std::string& out, DecodeState& state, std::int32_t id,
                     bool render_special = false) const override;
  [[nodiscard]] std::string token_to_piece(std::int32_t id, bool render_special = false) const override;

 private:
  /// Tokenizes text without special tokens (already escaped: spaces are U+2581).
  void encode_piece(std::string_view text, std::vector<std::int32_t>& out) const;
  void push_bytes(std::string_view bytes, std::vector<std::int32_t>& out) const;

  SpecialTokenSplitter specials_;  ///< refers to vocab_ (in the base, constructed first)
  std::int32_t byte_token_[256];   ///< <0xXX> ids, or -1
};

}  // namespace lagvk
