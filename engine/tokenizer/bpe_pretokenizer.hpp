#pragma once
// The pre-tokenizers of byte-level BPE models: they cut text into words before BPE merges run inside
// each word. Each kind is one of the regular expressions llama.cpp uses (by tokenizer.ggml.pre),
// matched here by hand with the same leftmost-alternative, greedy-with-backtracking semantics.
#include <optional>
#include <string_view>
#include <vector>

namespace lagvk {

enum class PreTokenizer {
  /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  gpt2,
  /// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  /// \s*[\r\n]+|\s+(?!\S)|\s+
  llama3,
  /// llama3's pattern with \p{N} (single digits) instead of \p{N}{1,3}
  qwen2,
  /// Two passes, as llama.cpp runs its list of expressions for tokenizer.ggml.pre "smollm" (it uses
  /// them for starcoder, refact, command-r and others too, untested here): \p{N} isolates every digit, then
  /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) (gpt2's without the
  /// final \s+, whose matches the unmatched-text rule gives anyway) splits each run between digits on
  /// its own: " 42" is " ", "4", "2".
  digits_then_gpt2,
};

/// The pre-tokenizer for a tokenizer.ggml.pre value, or nullopt when lagvk has none for it.
[[nodiscard]] std::optional<PreTokenizer> pre_tokenizer_for(std::string_view pre);

/// The words of text, in order; together they are exactly text.
[[nodiscard]] std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind);

}  // namespace lagvk
