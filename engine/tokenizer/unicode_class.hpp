#pragma once
// Unicode character classes for the byte-level BPE pre-tokenizer (\p{L}, \p{N}, \s), and UTF-8 helpers.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lagvk {

inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

[[nodiscard]] bool is_unicode_letter(char32_t c);      ///< general category L*
[[nodiscard]] bool is_unicode_number(char32_t c);      ///< general category N*
[[nodiscard]] bool is_unicode_whitespace(char32_t c);  ///< White_Space property

struct Utf8Char {
  std::size_t offset, length;  ///< bytes in the text
  char32_t code_point;         ///< kInvalidCodePoint for a malformed byte (length 1)
};

/// The characters of text; malformed bytes become one-byte characters of their own.
[[nodiscard]] std::vector<Utf8Char> split_utf8(std::string_view text);

void append_utf8(std::string& out, char32_t code_point);

}  // namespace lagvk
