#include "engine/tokenizer/bpe_tokenizer.hpp"

#include <array>
#include <optional>

#include "engine/core/error.hpp"
#include "engine/tokenizer/pair_merge.hpp"
#include "engine/tokenizer/unicode_class.hpp"

namespace lagvk {
namespace {

bool printable_byte(unsigned b) {
  return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

struct ByteMap {
  std::array<char32_t, 256> to_char{};
  ByteMap() {
    char32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) to_char[b] = printable_byte(b) ? char32_t(b) : next++;
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;  // immutable table, built once
  return map;
}

}  // namespace

char32_t byte_to_bpe_char(unsigned char b) {
  return byte_map().to_char[b];
}

int bpe_char_to_byte(char32_t c) {
  if (c < 256) return printable_byte(unsigned(c)) ? int(c) : -1;
  const auto& m = byte_map().to_char;
  for (unsigned b = 0; b < 256; ++b)
    if (m[b] == c) return int(b);
  return -1;
}

BpeTokenizer::BpeTokenizer(TokenVocab vocab, const std::vector<std::string>& merges, PreTokenizer pre,
                           bool ignore_merges)
    : VocabTokenizer(std::move(vocab)), specials_(vocab_), pre_(pre), ignore_merges_(ignore_merges) {
  merge_rank_.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    // Byte-level symbols never contain a plain space, so the first space after the first character
    // separates the pair.
    if (merges[i].find(' ', 1) == std::string::npos)
      fail(Errc::bad_model_file, "tokenizer.ggml.merges entry {} ('{}') is not a pair 'left right'", i,
           merges[i]);
    merge_rank_.emplace(merges[i], int(i));
  }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<std::int32_t>& out) const {
  std::string text;  // the word's bytes as mapped characters
  std::vector<MergeSymbol> sym;
  for (unsigned char b : word) {
    const std::size_t start = text.size();
    append_utf8(text, byte_to_bpe_char(b));
    sym.push_back({-1, -1, start, text.size() - start});
  }
  if (sym.empty()) return;
  if (ignore_merges_) {
    if (const auto id = vocab_.find(text)) {
      out.push_back(*id);
      return;
    }
  }
  // A pair merges when "left right" is a merge rule; the earliest rule (lowest rank) first.
  std::string key;
  merge_best_pairs<int>(sym, [&](const MergeSymbol& l, const MergeSymbol& r) -> std::optional<int> {
    key.assign(text, l.start, l.len);
    key += ' ';
    key.append(text, r.start, r.len);
    const auto it = merge_rank_.find(key);
    if (it == merge_rank_.end()) return std::nullopt;
    return -it->second;
  });
  for (int i = 0; i >= 0; i = sym[std::size_t(i)].next) {
    const auto& s = sym[std::size_t(i)];
    const std::string_view piece = std::string_view(text).substr(s.start, s.len);
    if (const auto id = vocab_.find(piece)) {
      out.push_back(*id);
      continue;
    }
    // A merge result missing from the vocabulary: its characters one by one (llama.cpp drops what
    // the vocabulary lacks; a byte-level vocabulary has every single character).
    for (const auto& ch : split_utf8(piece))
      if (const auto id = vocab_.find(piece.substr(ch.offset, ch.length))) out.push_back(*id);
  }
}

std::vector<std::int32_t> BpeTokenizer::encode_segments(std::span<const TextSegment> segments,
                                                        bool add_bos) const {
  std::vector<std::int32_t> out;
  if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  for (const auto& f : specials_.split(segments)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      continue;
    }
    for (auto word : pre_tokenize(f.text, pre_)) encode_word(word, out);
  }
  return out;
}

std::string BpeTokenizer::token_to_piece(std::int32_t id, bool render_special) const {
  const auto& text = token_text(id);
  switch (vocab_.type[std::size_t(id)]) {
    case TokenType::control:
      return render_special ? text : std::string();
    case TokenType::user_defined:
      return text;
    default: {
      std::string out;
      for (const auto& ch : split_utf8(text)) {
        const int b = ch.code_point == kInvalidCodePoint ? -1 : bpe_char_to_byte(ch.code_point);
        if (b >= 0)
          out += char(b);
        else
          out.append(text, ch.offset, ch.length);  // not a mapped byte: keep the text as it is
      }
      return out;
    }
  }
}

void BpeTokenizer::decode_append(std::string& out, DecodeState& /*state*/, std::int32_t id,
                                 bool render_special) const {
  out += token_to_piece(id, render_special);  // byte-level pieces carry their own spaces
}

}  // namespace lagvk
