#pragma once
// What every tokenizer over a GGUF vocabulary answers the same way: token texts, BOS/EOS, lookups. The
// SentencePiece and byte-level BPE tokenizers derive from it and add only their encoding and decoding.
#include <algorithm>

#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/vocab.hpp"

namespace lagvk {

class VocabTokenizer : public Tokenizer {
 public:
  [[nodiscard]] const std::string& token_text(std::int32_t id) const override;
  [[nodiscard]] std::optional<std::int32_t> find_token(std::string_view text) const override {
    return vocab_.find(text);
  }
  [[nodiscard]] std::int32_t bos() const override { return vocab_.bos; }
  [[nodiscard]] std::int32_t eos() const override { return vocab_.eos; }
  [[nodiscard]] bool add_bos_by_default() const override { return vocab_.add_bos; }
  [[nodiscard]] std::size_t vocab_size() const override { return vocab_.size(); }
  [[nodiscard]] bool is_end_of_generation(std::int32_t id) const override {
    return id >= 0 && std::find(vocab_.end_of_generation.begin(), vocab_.end_of_generation.end(), id) !=
                          vocab_.end_of_generation.end();
  }

 protected:
  explicit VocabTokenizer(TokenVocab vocab) : vocab_(std::move(vocab)) {}

  TokenVocab vocab_;
};

}  // namespace lagvk
