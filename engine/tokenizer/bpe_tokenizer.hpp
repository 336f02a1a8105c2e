#pragma once
// Byte-level BPE tokenization as llama.cpp does it for tokenizer.ggml.model = "gpt2" (Llama 3, Qwen2,
// Qwen3, GPT-2): special tokens are cut out, the pre-tokenizer splits the rest into words, each word's
// bytes are written as GPT-2's printable byte characters, and ranked merges (tokenizer.ggml.merges,
// lowest rank first, leftmost on ties) join adjacent symbols. No space is prefixed.
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/bpe_pretokenizer.hpp"
#include "engine/tokenizer/special_tokens.hpp"
#include "engine/tokenizer/vocab_tokenizer.hpp"

namespace lagvk {

class BpeTokenizer final : public VocabTokenizer {
 public:
  /// merges: "left right" pairs, best first. ignore_merges: a word that is itself a token is emitted
  /// without merging (llama.cpp does this for Llama 3).
  BpeTokenizer(TokenVocab vocab, const std::vector<std::string>& merges, PreTokenizer pre,
               bool ignore_merges);
  BpeTokenizer(const BpeTokenizer&) = delete;  // specials_ refers to this object's vocab_
  BpeTokenizer& operator=(const BpeTokenizer&) = delete;

  [[nodiscard]] std::vector<std::int32_t> encode_segments(std::span<const TextSegment> segments,
                                                          bool add_bos) const override;
  void decode_append(std::string& out, DecodeState& state, std::int32_t id,
                     bool render_special = false) const override;
  [[nodiscard]] std::string token_to_piece(std::int32_t id, bool render_special = false) const override;

 private:
  void encode_word(std::string_view word, std::vector<std::int32_t>& out) const;

  SpecialTokenSplitter specials_;
  std::unordered_map<std::string, int> merge_rank_;  ///< "left right" -> rank
  PreTokenizer pre_;
  bool ignore_merges_;
};

/// GPT-2's reversible byte <-> character mapping: printable bytes stand for themselves, the others
/// (controls, space, DEL, NBSP, soft hyphen) are moved to U+0100 and up.
[[nodiscard]] char32_t byte_to_bpe_char(unsigned char b);
/// The byte a mapped character stands for, or -1.
[[nodiscard]] int bpe_char_to_byte(char32_t c);

}  // namespace lagvk
