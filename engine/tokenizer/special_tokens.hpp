#pragma once
// Cutting text at the texts of special tokens before ordinary tokenization, as llama.cpp does:
// user-defined tokens always, control and unknown tokens only when the caller asks (parse_special),
// longest token text first.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/vocab.hpp"

namespace lagvk {

struct TextFragment {
  std::string text;         ///< raw text to tokenize (empty when token is set)
  std::int32_t token = -1;  ///< a special token, or -1
};

class SpecialTokenSplitter {
 public:
  explicit SpecialTokenSplitter(const TokenVocab& vocab);
  /// The segments' text cut at special tokens (each segment's parse_special chooses which kinds);
  /// raw text runs on across segment boundaries up to the next special token.
  [[nodiscard]] std::vector<TextFragment> split(std::span<const TextSegment> segments) const;

 private:
  const TokenVocab& vocab_;
  std::vector<std::int32_t> all_;           ///< control, unknown and user-defined, longest text first
  std::vector<std::int32_t> user_defined_;  ///< the user-defined ones, same order
};

}  // namespace lagvk
