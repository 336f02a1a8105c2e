#include "engine/tokenizer/special_tokens.hpp"

#include <algorithm>

namespace lagvk {

namespace {
/// The C locale's isspace, which llama.cpp's rstrip uses.
bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(const TokenVocab& vocab) : vocab_(vocab) {
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    const auto type = vocab_.type[i];
    if ((type == TokenType::control || type == TokenType::unknown || type == TokenType::user_defined) &&
        !vocab_.text[i].empty())
      all_.push_back(std::int32_t(i));
  }
  // Longest first, so that a special token wins over a shorter one that is its prefix.
  std::stable_sort(all_.begin(), all_.end(), [&](std::int32_t a, std::int32_t b) {
    return vocab_.text[std::size_t(a)].size() > vocab_.text[std::size_t(b)].size();
  });
  for (auto id : all_)
    if (vocab_.type[std::size_t(id)] == TokenType::user_defined) user_defined_.push_back(id);
}

std::vector<TextFragment> SpecialTokenSplitter::split(std::span<const TextSegment> segments) const {
  std::vector<TextFragment> out;
  std::string raw;     // text since the last special token, possibly from several segments
  bool strip = false;  // dropping whitespace after a special token with the rstrip attribute
  for (const TextSegment& segment : segments) {
    const std::string_view text = segment.text;
    const auto& specials = segment.parse_special ? all_ : user_defined_;
    std::size_t raw_start = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      if (strip && is_c_space(text[pos])) {  // raw_start == pos while stripping
        raw_start = ++pos;
        continue;
      }
      strip = false;
      std::int32_t match = -1;
      for (auto id : specials) {
        const auto& t = vocab_.text[std::size_t(id)];
        if (text.compare(pos, t.size(), t) == 0) {
          match = id;
          break;
        }
      }
      if (match < 0) {
        ++pos;
        continue;
      }
      raw.append(text.substr(raw_start, pos - raw_start));
      if (!raw.empty()) out.push_back({std::move(raw), -1});
      raw.clear();
      out.push_back({{}, match});
      pos += vocab_.text[std::size_t(match)].size();
      raw_start = pos;
      strip = !vocab_.rstrip.empty() && vocab_.rstrip[std::size_t(match)];
    }
    raw.append(text.substr(raw_start));
  }
  if (!raw.empty()) out.push_back({std::move(raw), -1});
  return out;
}

}  // namespace lagvk
