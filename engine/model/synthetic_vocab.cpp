#include "engine/model/synthetic_vocab.hpp"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <string_view>
#include <unordered_set>

#include "engine/core/error.hpp"
#include "engine/model/gguf_writer.hpp"

namespace lagvk {
namespace {

constexpr std::string_view kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

// Frequent English words first; their order becomes their score order.
constexpr std::array<std::string_view, 150> kWords = {
    "the",   "of",    "and",    "to",    "a",      "in",       "is",    "you",   "that",  "it",     "he",
    "was",   "for",   "on",     "are",   "as",     "with",     "his",   "they",  "I",     "at",     "be",
    "this",  "have",  "from",   "or",    "one",    "had",      "by",    "word",  "but",   "not",    "what",
    "all",   "were",  "we",     "when",  "your",   "can",      "said",  "there", "use",   "an",     "each",
    "which", "she",   "do",     "how",   "their",  "if",       "will",  "up",    "other", "about",  "out",
    "many",  "then",  "them",   "these", "so",     "some",     "her",   "would", "make",  "like",   "him",
    "into",  "time",  "has",    "look",  "two",    "more",     "write", "go",    "see",   "number", "no",
    "way",   "could", "people", "my",    "than",   "first",    "water", "been",  "call",  "who",    "oil",
    "its",   "now",   "find",   "long",  "down",   "day",      "did",   "get",   "come",  "made",   "may",
    "part",  "The",   "In",     "It",    "He",     "We",       "They",  "This",  "A",     "log",    "model",
    "token", "text",  "data",   "GPU",   "answer", "question", "story", "once",  "upon",  "world",  "hello",
    "cat",   "dog",   "sat",    "mat",   "quick",  "brown",    "fox",   "jumps", "over",  "lazy",   "sun",
    "blue",  "red",   "green",  "house", "tree",   "small",    "big",   "good",  "new",   "old",    "year",
    "back",  "life",  "work",   "hand",  "name",   "ing",      "ed",
};

class Builder {
 public:
  explicit Builder(std::size_t size) : size_(size) {}

  bool full() const { return v_.tokens.size() >= size_; }

  void add(std::string text, TokenType type, float score) {
    if (full() || !seen_.insert(text).second) return;
    v_.tokens.push_back(std::move(text));
    v_.types.push_back(static_cast<std::int32_t>(type));
    v_.scores.push_back(score);
  }
  /// Normal pieces get strictly descending scores in the order they are added.
  void add_piece(std::string text) { add(std::move(text), TokenType::normal, -float(next_rank_++)); }
  /// A piece and every shorter prefix (by whole UTF-8 characters), shortest first, so that the
  /// pairwise merge can build it one character at a time.
  void add_with_prefixes(const std::string& text) {
    for (std::size_t n = 1; n <= text.size(); ++n) {
      if (n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) continue;
      add_piece(text.substr(0, n));
    }
  }
  /// A piece and its prefixes (as add_with_prefixes), each scored by its length, plus `bonus`.
  void add_scored_with_prefixes(const std::string& text, float bonus) {
    for (std::size_t n = 1; n <= text.size(); ++n) {
      if (n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) continue;
      add(text.substr(0, n), TokenType::normal, bonus + float(n));
    }
  }
  Vocabulary take() { return std::move(v_); }

 private:
  std::size_t size_;
  Vocabulary v_;
  std::unordered_set<std::string> seen_;
  int next_rank_ = 0;
};

}  // namespace

Vocabulary make_synthetic_vocab(std::size_t size) {
  if (size < 260)
    fail("a vocabulary needs at least 260 tokens (3 control, 256 bytes, one piece), not {}", size);
  Builder b(size);
  b.add("<unk>", TokenType::unknown, 0.0f);
  b.add("<s>", TokenType::control, 0.0f);
  b.add("</s>", TokenType::control, 0.0f);
  for (int i = 0; i < 256; ++i) b.add(fmt::format("<0x{:02X}>", i), TokenType::byte, 0.0f);
  b.add_piece(std::string(kSpace));
  for (char ch = 'a'; ch <= 'z'; ++ch) b.add_piece(std::string(1, ch));
  for (char ch = 'A'; ch <= 'Z'; ++ch) b.add_piece(std::string(1, ch));
  for (char ch = '0'; ch <= '9'; ++ch) b.add_piece(std::string(1, ch));
  for (char ch : std::string_view(".,!?'\"-:;()")) b.add_piece(std::string(1, ch));
  for (auto w : kWords) b.add_with_prefixes(std::string(kSpace) + std::string(w));
  for (auto w : kWords) b.add_with_prefixes(std::string(w));
  for (char ch : std::string_view(".,!?")) b.add_piece(std::string(kSpace) + ch);
  // Fill any remaining room with letter pairs, then numbered pieces no text can produce.
  for (char x = 'a'; x <= 'z' && !b.full(); ++x)
    for (char y = 'a'; y <= 'z' && !b.full(); ++y) b.add_piece(std::string{x, y});
  for (int i = 0; !b.full(); ++i) b.add(fmt::format("<extra_{}>", i), TokenType::normal, -1e6f - float(i));
  return b.take();
}

Vocabulary make_word_vocab(const std::vector<std::string>& words) {
  Builder b(std::numeric_limits<std::size_t>::max());
  b.add("<unk>", TokenType::unknown, 0.0f);
  b.add("<s>", TokenType::control, 0.0f);
  b.add("</s>", TokenType::control, 0.0f);
  for (int i = 0; i < 256; ++i) b.add(fmt::format("<0x{:02X}>", i), TokenType::byte, 0.0f);
  b.add(std::string(kSpace), TokenType::normal, 1.0f);
  for (char ch = 0x21; ch < 0x7f; ++ch) b.add(std::string(1, ch), TokenType::normal, 1.0f);
  // Pieces that begin with a space outrank all others, so a word after a space is always built along its
  // own prefix chain and never split by a piece of a word that starts without one.
  for (const auto& w : words) {
    if (w.empty()) fail("make_word_vocab: empty word");
    if (w.find_first_of(" \n") != std::string::npos)
      fail("make_word_vocab: word '{}' contains a space or newline (write spaces as U+2581)", w);
    b.add_scored_with_prefixes(w, w.rfind(kSpace, 0) == 0 ? 1000.0f : 0.0f);
  }
  return b.take();
}

void write_spm_vocabulary(GgufWriter& w, const Vocabulary& vocab) {
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", vocab.tokens);
  w.set_f32_array("tokenizer.ggml.scores", vocab.scores);
  w.set_i32_array("tokenizer.ggml.token_type", vocab.types);
  w.set_u32("tokenizer.ggml.bos_token_id", std::uint32_t(vocab.bos_id));
  w.set_u32("tokenizer.ggml.eos_token_id", std::uint32_t(vocab.eos_id));
  w.set_u32("tokenizer.ggml.unknown_token_id", std::uint32_t(vocab.unk_id));
}

}  // namespace lagvk
