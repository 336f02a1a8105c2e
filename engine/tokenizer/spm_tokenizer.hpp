#pragma once
// SentencePiece tokenization as llama.cpp does it for tokenizer.ggml.model = "llama": spaces become
// U+2581, a space is prefixed, then adjacent pieces are merged greedily by vocabulary score (best
// first, leftmost on ties), and characters missing from the vocabulary fall back to <0xXX> byte tokens.
#include "engine/tokenizer/special_tokens.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/vocab.hpp"

namespace lagvk {

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(TokenVocab vocab);
  SpmTokenizer(const SpmTokenizer&) = delete;  // specials_ refers to this object's vocab_
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;

  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view text, bool add_bos,
                                                 bool parse_special) const override;
  [[nodiscard]] std::string decode(std::span<const std::int32_t> ids,
                                   bool render_special = false) const override;
  [[nodiscard]] std::string token_to_piece(std::int32_t id, bool render_special = false) const override;
  [[nodiscard]] const std::string& token_text(std::int32_t id) const override;
  [[nodiscard]] std::optional<std::int32_t> find_token(std::string_view text) const override {
    return vocab_.find(text);
  }
  [[nodiscard]] std::int32_t bos() const override { return vocab_.bos; }
  [[nodiscard]] std::int32_t eos() const override { return vocab_.eos; }
  [[nodiscard]] bool add_bos_by_default() const override { return vocab_.add_bos; }
  [[nodiscard]] std::size_t vocab_size() const override { return vocab_.size(); }
  [[nodiscard]] bool is_end_of_generation(std::int32_t id) const override {
    return id >= 0 && (id == vocab_.eos || id == vocab_.eot);
  }

 private:
  /// Tokenizes text without special tokens (already escaped: spaces are U+2581).
  void encode_piece(std::string_view text, std::vector<std::int32_t>& out) const;
  void push_bytes(std::string_view bytes, std::vector<std::int32_t>& out) const;

  TokenVocab vocab_;
  SpecialTokenSplitter specials_;  ///< refers to vocab_ (declared before it)
  std::int32_t byte_token_[256];   ///< <0xXX> ids, or -1
};

}  // namespace lagvk
