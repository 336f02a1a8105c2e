#pragma once
// Cutting text at the texts of special tokens before ordinary tokenization, as llama.cpp does:
// user-defined tokens always, control and unknown tokens only when the caller asks (parse_special),
// longest token text first.
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/vocab.hpp"

namespace lagvk {

struct TextFragment {
  std::string_view text;    ///< raw text to tokenize (empty when token is set)
  std::int32_t token = -1;  ///< a special token, or -1
};

class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const TokenVocab& vocab);
  [[nodiscard]] std::vector<TextFragment> split(std::string_view text, bool parse_special) const;

 private:
  const TokenVocab& vocab_;
  std::vector<std::int32_t> all_;           ///< control, unknown and user-defined, longest text first
  std::vector<std::int32_t> user_defined_;  ///< the user-defined ones, same order
};

}  // namespace lagvk
