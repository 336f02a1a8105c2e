#include "engine/tokenizer/spm_tokenizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "engine/core/error.hpp"
#include "engine/tokenizer/pair_merge.hpp"

namespace lagvk {
namespace {

constexpr std::string_view kSpace = "\xe2\x96\x81";    // U+2581, SentencePiece's visible space
constexpr std::string_view kUnknown = "\xe2\x96\x85";  // U+2585, how llama.cpp renders <unk>

/// Byte length of the UTF-8 character starting with `lead`, judged by its high nibble like llama.cpp
/// (stray continuation bytes count as one character; the caller clamps to the text's end).
std::size_t utf8_len(unsigned char lead) {
  const unsigned high = lead >> 4;
  if (high < 0xC) return 1;
  if (high < 0xE) return 2;
  return high == 0xE ? 3 : 4;
}

std::string escape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  for (char c : text) {
    if (c == ' ')
      out += kSpace;
    else
      out += c;
  }
  return out;
}

std::string unescape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text.substr(i, kSpace.size()) == kSpace) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

/// The byte a "<0xXX>" token stands for, or -1.
int byte_value(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int v = 0;
  for (char c : text.substr(3, 2)) {
    v *= 16;
    if (c >= '0' && c <= '9')
      v += c - '0';
    else if (c >= 'A' && c <= 'F')
      v += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      v += c - 'a' + 10;
    else
      return -1;
  }
  return v;
}

}  // namespace

SpmTokenizer::SpmTokenizer(TokenVocab vocab) : VocabTokenizer(std::move(vocab)), specials_(vocab_) {
  std::fill(std::begin(byte_token_), std::end(byte_token_), -1);
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    if (vocab_.type[i] != TokenType::byte) continue;
    const int b = byte_value(vocab_.text[i]);
    if (b >= 0 && byte_token_[b] < 0) byte_token_[b] = std::int32_t(i);
  }
}

void SpmTokenizer::push_bytes(std::string_view bytes, std::vector<std::int32_t>& out) const {
  for (unsigned char b : bytes) {
    if (byte_token_[b] >= 0) {
      out.push_back(byte_token_[b]);
    } else if (vocab_.unk >= 0) {
      out.push_back(vocab_.unk);
    } else {
      fail(Errc::bad_model_file, "the vocabulary has neither the byte token <0x{:02X}> nor an unknown token",
           b);
    }
  }
}

void SpmTokenizer::encode_piece(std::string_view text, std::vector<std::int32_t>& out) const {
  std::vector<MergeSymbol> sym;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t len = std::min(utf8_len(static_cast<unsigned char>(text[pos])), text.size() - pos);
    sym.push_back({-1, -1, pos, len});
    pos += len;
  }
  if (sym.empty()) return;
  // A pair merges when its text is a vocabulary entry; the highest-scoring entry first.
  merge_best_pairs<float>(sym, [&](const MergeSymbol& l, const MergeSymbol& r) -> std::optional<float> {
    const auto id = vocab_.find(text.substr(l.start, l.len + r.len));
    if (!id) return std::nullopt;
    return vocab_.score[std::size_t(*id)];
  });

  // Every merged symbol is a vocabulary entry (a pair is only queued when its text is one), so a
  // symbol missing from the vocabulary is a single character: it falls back to its bytes.
  for (int i = 0; i >= 0; i = sym[std::size_t(i)].next) {
    const auto& s = sym[std::size_t(i)];
    const auto piece = text.substr(s.start, s.len);
    if (const auto id = vocab_.find(piece))
      out.push_back(*id);
    else
      push_bytes(piece, out);
  }
}

std::vector<std::int32_t> SpmTokenizer::encode_segments(std::span<const TextSegment> segments,
                                                        bool add_bos) const {
  std::vector<std::int32_t> out;
  if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);

  // llama.cpp prefixes a space to the text at the start and after every special token.
  bool prev_special = true;
  for (const auto& f : specials_.split(segments)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    std::string raw = vocab_.add_space_prefix && prev_special ? " " : "";
    raw += f.text;
    encode_piece(escape_spaces(raw), out);
    prev_special = false;
  }
  return out;
}

std::string SpmTokenizer::token_to_piece(std::int32_t id, bool render_special) const {
  const auto& text = token_text(id);
  switch (vocab_.type[std::size_t(id)]) {
    case TokenType::byte: {
      const int b = byte_value(text);
      return b >= 0 ? std::string(1, char(b)) : std::string();
    }
    case TokenType::control:
      return render_special ? text : std::string();
    case TokenType::unknown:
      return std::string(kUnknown);
    case TokenType::user_defined:
      return text;
    default:
      return unescape_spaces(text);
  }
}

void SpmTokenizer::decode_append(std::string& out, DecodeState& state, std::int32_t id,
                                 bool render_special) const {
  std::string piece = token_to_piece(id, render_special);
  if (piece.empty()) return;
  if (vocab_.type[std::size_t(id)] == TokenType::control) {  // rendered <s> does not take the strip
    out += piece;
    return;
  }
  // The encoder prefixed one space; remove it from the first piece that renders anything.
  if (!state.started && vocab_.add_space_prefix && piece.front() == ' ') piece.erase(0, 1);
  state.started = true;
  out += piece;
}

}  // namespace lagvk
