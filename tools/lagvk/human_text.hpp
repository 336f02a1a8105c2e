#pragma once
// Helpers for what the CLI prints for people and reads from them: stored text made safe to print on a
// terminal, and log ids parsed strictly.
#include <cstdint>
#include <string>
#include <string_view>

namespace lagvk::cli {

/// Text as it may be printed on a terminal: control characters (ESC, BEL, CR, DEL, the C1 range
/// U+0080..U+009F, ...) become visible escapes ("\x1b", "\u009b") so that stored text cannot move the
/// cursor, retitle the window or hide what follows; a backslash stays as it is. With one_line, newlines
/// and tabs are escaped too ("\n", "\t"), for listings that give each item one line. Bytes that are not
/// valid UTF-8 are shown as "\xNN". JSON output does not go through this: its own escaping is exact.
[[nodiscard]] std::string printable(std::string_view text, bool one_line = false);

/// A log id typed by a user: all digits, no sign or spaces, at least 1, fitting in 64 bits ("12,13",
/// "1abc", "20.9", "2e3", "0", "-1" are errors naming the text). Several ids are separate arguments.
[[nodiscard]] std::uint64_t parse_log_id(const std::string& text, std::string_view command);

}  // namespace lagvk::cli
