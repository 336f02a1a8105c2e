#include "engine/tokenizer/bpe_pretokenizer.hpp"

#include <cctype>

#include "engine/tokenizer/unicode_class.hpp"

namespace lagvk {
namespace {

/// The text's characters with the classes the patterns test.
class Chars {
 public:
  explicit Chars(std::string_view text) : chars_(split_utf8(text)) {}
  [[nodiscard]] std::size_t size() const { return chars_.size(); }
  [[nodiscard]] char32_t at(std::size_t i) const { return i < chars_.size() ? chars_[i].code_point : 0; }
  [[nodiscard]] bool letter(std::size_t i) const { return i < size() && is_unicode_letter(at(i)); }
  [[nodiscard]] bool number(std::size_t i) const { return i < size() && is_unicode_number(at(i)); }
  [[nodiscard]] bool space(std::size_t i) const { return i < size() && is_unicode_whitespace(at(i)); }
  [[nodiscard]] bool newline(std::size_t i) const { return i < size() && (at(i) == '\r' || at(i) == '\n'); }
  /// [^\s\p{L}\p{N}]
  [[nodiscard]] bool other(std::size_t i) const {
    return i < size() && !space(i) && !letter(i) && !number(i);
  }
  [[nodiscard]] std::size_t byte_offset(std::size_t i) const {
    return i < chars_.size() ? chars_[i].offset
                             : (chars_.empty() ? 0 : chars_.back().offset + chars_.back().length);
  }

  template <typename Pred>
  [[nodiscard]] std::size_t run_end(std::size_t i, Pred pred) const {
    while (i < size() && (this->*pred)(i)) ++i;
    return i;
  }

 private:
  std::vector<Utf8Char> chars_;
};

/// Length in characters of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
std::size_t contraction(const Chars& c, std::size_t i, bool any_case) {
  if (c.at(i) != '\'') return 0;
  auto is = [&](std::size_t k, char ch) {
    const char32_t v = c.at(k);
    return v == char32_t(ch) || (any_case && v == char32_t(std::toupper(static_cast<unsigned char>(ch))));
  };
  for (const char* s : {"s", "t", "re", "ve", "m", "ll", "d"}) {
    std::size_t k = 0;
    while (s[k] && is(i + 1 + k, s[k])) ++k;
    if (!s[k]) return 1 + k;
  }
  return 0;
}

/// \s+(?!\S) then \s+ at i (which is whitespace): the whole run if the text ends after it or it is a
/// single character; else all but its last character, which then starts the next word.
std::size_t whitespace_match(const Chars& c, std::size_t i) {
  const std::size_t end = c.run_end(i, &Chars::space);
  if (end == c.size() || end - i == 1) return end - i;
  return end - 1 - i;
}

/// One match of the gpt2 pattern at i; returns its length in characters (at least 1).
std::size_t match_gpt2(const Chars& c, std::size_t i) {
  if (const std::size_t n = contraction(c, i, false)) return n;
  const std::size_t j = i + (c.at(i) == ' ' ? 1 : 0);
  if (c.letter(j)) return c.run_end(j, &Chars::letter) - i;
  if (c.number(j)) return c.run_end(j, &Chars::number) - i;
  if (c.other(j)) return c.run_end(j, &Chars::other) - i;
  if (c.space(i)) return whitespace_match(c, i);
  return 1;
}

/// One match of the llama3 (max_digits 3) or qwen2 (max_digits 1) pattern at i.
std::size_t match_llama3(const Chars& c, std::size_t i, std::size_t max_digits) {
  if (const std::size_t n = contraction(c, i, true)) return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!c.newline(i) && !c.letter(i) && !c.number(i) && c.letter(i + 1))
    return c.run_end(i + 1, &Chars::letter) - i;
  if (c.letter(i)) return c.run_end(i, &Chars::letter) - i;
  // \p{N}{1,max}
  if (c.number(i)) {
    std::size_t k = i;
    while (k - i < max_digits && c.number(k)) ++k;
    return k - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  const std::size_t j = i + (c.at(i) == ' ' ? 1 : 0);
  if (c.other(j)) return c.run_end(c.run_end(j, &Chars::other), &Chars::newline) - i;
  if (c.space(i)) {
    // \s*[\r\n]+: up to and including the last newline of the whitespace run.
    const std::size_t end = c.run_end(i, &Chars::space);
    for (std::size_t k = end; k > i; --k)
      if (c.newline(k - 1)) return k - i;
    return whitespace_match(c, i);
  }
  return 1;
}

/// The words of a run of text under one single-pass pattern.
void append_words(std::string_view text, PreTokenizer kind, std::vector<std::string_view>& words) {
  const Chars c(text);
  for (std::size_t i = 0; i < c.size();) {
    const std::size_t n = kind == PreTokenizer::gpt2     ? match_gpt2(c, i)
                          : kind == PreTokenizer::llama3 ? match_llama3(c, i, 3)
                                                         : match_llama3(c, i, 1);
    const std::size_t begin = c.byte_offset(i), end = c.byte_offset(i + n);
    words.push_back(text.substr(begin, end - begin));
    i += n;
  }
}

/// The digits_then_gpt2 passes: each digit is a word, and the gpt2 pattern runs inside each stretch of
/// text between digits as if it were the whole text (its lookahead sees the stretch's end, not the
/// digit after it), as llama.cpp applies a later expression within the pieces of an earlier one.
void append_digit_split_words(std::string_view text, std::vector<std::string_view>& words) {
  const Chars c(text);
  std::size_t stretch = 0;  // first character of the current stretch without digits
  for (std::size_t i = 0; i <= c.size(); ++i) {
    if (i < c.size() && !c.number(i)) continue;
    const std::size_t begin = c.byte_offset(stretch), end = c.byte_offset(i);
    append_words(text.substr(begin, end - begin), PreTokenizer::gpt2, words);
    if (i < c.size()) words.push_back(text.substr(end, c.byte_offset(i + 1) - end));
    stretch = i + 1;
  }
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_for(std::string_view pre) {
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe") return PreTokenizer::llama3;
  if (pre == "qwen2") return PreTokenizer::qwen2;
  if (pre == "gpt-2" || pre == "gpt2") return PreTokenizer::gpt2;
  if (pre == "smollm") return PreTokenizer::digits_then_gpt2;
  return std::nullopt;
}

std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind) {
  std::vector<std::string_view> words;
  if (kind == PreTokenizer::digits_then_gpt2)
    append_digit_split_words(text, words);
  else
    append_words(text, kind, words);
  return words;
}

}  // namespace lagvk
