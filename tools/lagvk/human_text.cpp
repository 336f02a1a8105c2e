#include "tools/lagvk/human_text.hpp"

#include <charconv>

#include <fmt/format.h>

#include "engine/core/error.hpp"

namespace lagvk::cli {

namespace {

// Length of the UTF-8 sequence that starts text[i], or 0 when the bytes there are not valid UTF-8
// (overlong forms, surrogates and values past U+10FFFF included).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF)
    n = 2, cp = b & 0x1Fu;
  else if (b >= 0xE0 && b <= 0xEF)
    n = 3, cp = b & 0x0Fu;
  else if (b >= 0xF0 && b <= 0xF4)
    n = 4, cp = b & 0x07u;
  else
    return 0;
  if (i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}

/// The bidirectional embedding, override and isolate controls (U+202A..U+202E, U+2066..U+2069): they
/// reorder what a terminal shows after them, so a task could make its listing read as something else.
bool is_bidi_control(std::string_view utf8) {
  const auto b1 = static_cast<unsigned char>(utf8[1]), b2 = static_cast<unsigned char>(utf8[2]);
  if (static_cast<unsigned char>(utf8[0]) != 0xE2) return false;
  return (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9);
}

}  // namespace

std::string printable(std::string_view text, bool one_line) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    if (n == 1) {
      if (c == '\n' && !one_line)
        out += '\n';
      else if (c == '\t' && !one_line)
        out += '\t';
      else if (c == '\n')
        out += "\\n";
      else if (c == '\t')
        out += "\\t";
      else if (c == '\r')
        out += "\\r";
      else if (c < 0x20 || c == 0x7F)
        out += fmt::format("\\x{:02x}", c);
      else
        out += char(c);
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      // U+0080..U+009F: the C1 controls (U+009B is a one-byte CSI on some terminals).
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
    } else if (n == 3 && is_bidi_control(text.substr(i, 3))) {
      const auto b = [&](std::size_t k) { return std::uint32_t(static_cast<unsigned char>(text[i + k])); };
      out += fmt::format("\\u{:04x}", ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu));
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::uint64_t parse_log_id(const std::string& text, std::string_view command) {
  std::uint64_t id = 0;
  const char* end = text.data() + text.size();
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  const auto [ptr, ec] = std::from_chars(text.data(), end, id);
  if (!digits || ec != std::errc() || ptr != end || id == 0)
    fail(
        "{}: '{}' is not a log id (ids are whole numbers from 1 to {}; give several ids as separate "
        "arguments: 12 13)",
        command, printable(text, true), UINT64_MAX);
  return id;
}

}  // namespace lagvk::cli
