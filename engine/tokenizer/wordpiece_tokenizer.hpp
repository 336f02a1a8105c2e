#pragma once
// WordPiece tokenization as llama.cpp does it for tokenizer.ggml.model = "bert" (BERT, all-MiniLM, bge):
// the text is normalised (accented letters to their base letters and combining marks dropped when the
// file strips accents; lower-cased when it says uncased; control characters dropped), cut into words at
// whitespace, with each punctuation character, ASCII symbol and CJK ideograph a word of its own; then
// each word, given a leading U+2581 as the vocabulary writes word starts, is covered greedily by the
// longest vocabulary entries from the left (a continuation piece is stored without its "##"). A word
// that cannot be covered becomes [UNK]. Encoding with add_bos wraps the ids in [CLS] ... [SEP].
//
// Unlike Hugging Face's BertTokenizer, llama.cpp (the reference) does not turn words longer than 100
// characters into [UNK]: they are split into pieces like any other word, and so they are here.
#include "engine/tokenizer/special_tokens.hpp"
#include "engine/tokenizer/vocab_tokenizer.hpp"

namespace lagvk {

struct WordPieceOptions {
  bool lowercase = true;      ///< tokenizer.ggml.normalizer.lowercase (default true, as llama.cpp)
  bool strip_accents = true;  ///< tokenizer.ggml.normalizer.strip_accents (default: lowercase)
  bool add_sep = true;        ///< tokenizer.ggml.add_eos_token: [SEP] after the text with add_bos
};

class WordPieceTokenizer final : public VocabTokenizer {
 public:
  WordPieceTokenizer(TokenVocab vocab, WordPieceOptions options);
  WordPieceTokenizer(const WordPieceTokenizer&) = delete;  // specials_ refers to this object's vocab_
  WordPieceTokenizer& operator=(const WordPieceTokenizer&) = delete;

  [[nodiscard]] std::vector<std::int32_t> encode_segments(std::span<const TextSegment> segments,
                                                          bool add_bos) const override;
  void decode_append(std::string& out, DecodeState& state, std::int32_t id,
                     bool render_special = false) const override;
  [[nodiscard]] std::string token_to_piece(std::int32_t id, bool render_special = false) const override;

  /// The normalised words of text, before the vocabulary is consulted (exposed for tests).
  [[nodiscard]] std::vector<std::string> words(std::string_view text) const;

 private:
  void encode_word(const std::string& word, std::vector<std::int32_t>& out) const;

  WordPieceOptions options_;
  SpecialTokenSplitter specials_;  ///< refers to vocab_ (in the base, constructed first)
  std::size_t max_token_bytes_ = 0;
  std::int32_t unk_ = -1;
};

}  // namespace lagvk
