#include "engine/tokenizer/wordpiece_tokenizer.hpp"

#include <algorithm>
#include <iterator>

#include "engine/core/error.hpp"
#include "engine/tokenizer/unicode_class.hpp"

namespace lagvk {
namespace {

struct CodeRange {
  char32_t first, last;
};
struct CodeMap {
  char32_t first, last, to;
};

#include "engine/tokenizer/wordpiece_unicode_data.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                    [](char32_t v, const CodeRange& r) { return v < r.first; });
  return it != std::begin(table) && c <= std::prev(it)->last;
}

template <std::size_t N>
char32_t mapped(const CodeMap (&table)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                    [](char32_t v, const CodeMap& m) { return v < m.first; });
  return it != std::begin(table) && c <= std::prev(it)->last ? std::prev(it)->to : c;
}

/// The CJK ideograph blocks BERT splits into single characters (the ranges Hugging Face's tokenizers and
/// llama.cpp use; the fifth ends where theirs does).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Symbols (general category S*) below U+007F, which are words of their own like punctuation.
bool is_ascii_symbol(char32_t c) {
  return c == U'$' || c == U'+' || c == U'<' || c == U'=' || c == U'>' || c == U'^' || c == U'`' ||
         c == U'|' || c == U'~';
}

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // U+2581, the vocabulary's word-start mark

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(TokenVocab vocab, WordPieceOptions options)
    : VocabTokenizer(std::move(vocab)), options_(options), specials_(vocab_) {
  for (const auto& t : vocab_.text) max_token_bytes_ = std::max(max_token_bytes_, t.size());
  unk_ = vocab_.unk >= 0 ? vocab_.unk : vocab_.find("[UNK]").value_or(-1);
  if (unk_ < 0)
    fail(Errc::bad_model_file,
         "the WordPiece vocabulary has no unknown token ([UNK], tokenizer.ggml.unknown_token_id)");
}

std::vector<std::string> WordPieceTokenizer::words(std::string_view text) const {
  std::vector<std::string> out(1);
  auto finish_word = [&] {
    if (!out.back().empty()) out.emplace_back();
  };
  for (const Utf8Char& ch : split_utf8(text)) {
    char32_t c = ch.code_point;
    if (c == kInvalidCodePoint) c = 0xFFFD;  // malformed bytes are dropped like U+FFFD
    if (options_.strip_accents) c = mapped(kDecomposedBase, c);
    if (is_unicode_whitespace(c)) {
      finish_word();
      continue;
    }
    if (c == 0 || c == 0xFFFD || in_ranges(kControlRanges, c)) continue;
    if (options_.strip_accents && in_ranges(kMarkRanges, c)) continue;
    const char32_t shown = options_.lowercase ? mapped(kLowercase, c) : c;
    if (in_ranges(kPunctuationRanges, c) || is_ascii_symbol(c) || is_cjk_ideograph(c)) {
      finish_word();
      append_utf8(out.back(), shown);
      out.emplace_back();
    } else {
      append_utf8(out.back(), shown);
    }
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

void WordPieceTokenizer::encode_word(const std::string& word, std::vector<std::int32_t>& out) const {
  const std::string marked = std::string(kWordStart) + word;
  const std::size_t first = out.size();
  // Greedy longest match from the left, over bytes as llama.cpp does (vocabulary entries are whole
  // characters, so a match never ends inside one).
  for (std::size_t i = 0; i < marked.size();) {
    std::size_t matched = 0;
    for (std::size_t len = std::min(marked.size() - i, max_token_bytes_); len > 0; --len) {
      if (const auto id = vocab_.find(std::string_view(marked).substr(i, len))) {
        out.push_back(*id);
        matched = len;
        break;
      }
    }
    if (matched == 0) {  // a part no entry covers: the whole word is unknown
      out.resize(first);
      break;
    }
    i += matched;
  }
  if (out.size() == first) out.push_back(unk_);
}

std::vector<std::int32_t> WordPieceTokenizer::encode_segments(std::span<const TextSegment> segments,
                                                              bool add_bos) const {
  std::vector<std::int32_t> ids;
  if (add_bos && vocab_.bos >= 0) ids.push_back(vocab_.bos);
  for (const TextFragment& f : specials_.split(segments)) {
    if (f.token >= 0) {
      ids.push_back(f.token);
      continue;
    }
    for (const std::string& w : words(f.text)) encode_word(w, ids);
  }
  if (add_bos && options_.add_sep && vocab_.eos >= 0) ids.push_back(vocab_.eos);
  return ids;
}

std::string WordPieceTokenizer::token_to_piece(std::int32_t id, bool render_special) const {
  const std::string& text = token_text(id);
  const TokenType type = vocab_.type[std::size_t(id)];
  if (type == TokenType::control || type == TokenType::unknown) return render_special ? text : std::string();
  if (text.starts_with(kWordStart)) return " " + text.substr(kWordStart.size());
  return text;
}

void WordPieceTokenizer::decode_append(std::string& out, DecodeState& state, std::int32_t id,
                                       bool render_special) const {
  std::string piece = token_to_piece(id, render_special);
  if (piece.empty()) return;
  // The first word's start mark stands for no space.
  if (!state.started && piece.front() == ' ') piece.erase(0, 1);
  state.started = true;
  out += piece;
}

}  // namespace lagvk
