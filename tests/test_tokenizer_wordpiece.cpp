// The WordPiece tokenizer (tokenizer.ggml.model = "bert") on a small hand-written vocabulary, without
// outside references: the normalisation rules BERT's BasicTokenizer states (lower-casing, accents
// stripped by decomposition, control characters dropped, whitespace, punctuation and CJK splitting) and
// the greedy longest match with continuation pieces. tests/test_cli_embed.cpp compares the real
// all-MiniLM-L6-v2 vocabulary with llama.cpp on varied text.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/synthetic_vocab.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/wordpiece_tokenizer.hpp"

namespace lagvk {
namespace {

const std::string kStart = "\xE2\x96\x81";  // U+2581: a word-start piece

/// [PAD] [UNK] [CLS] [SEP], then word starts and continuations (as llama.cpp's converter writes them).
const std::vector<std::string>& pieces() {
  static const std::vector<std::string> p = {
      "[PAD]",          "[UNK]",
      "[CLS]",          "[SEP]",
      kStart + "un",    kStart + "unaff",
      "able",           "aff",
      kStart + "cafe",  kStart + ",",
      kStart + "!",     kStart + "$",
      kStart + "hello", kStart + "world",
      kStart + "我",    kStart + "想",
      kStart + "a",     "a",
      kStart + "ecole", "ed",
      kStart + "x",
  };
  return p;
}

std::int32_t id(const std::string& piece) {
  const auto& p = pieces();
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] == piece) return std::int32_t(i);
  ADD_FAILURE() << "no piece " << piece;
  return -1;
}

std::unique_ptr<Tokenizer> tokenizer(std::optional<bool> lowercase = std::nullopt) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "bert");
  w.set_string_array("tokenizer.ggml.tokens", pieces());
  std::vector<std::int32_t> types(pieces().size(), std::int32_t(TokenType::normal));
  for (int i = 0; i < 4; ++i) types[std::size_t(i)] = std::int32_t(TokenType::control);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.unknown_token_id", 1);
  w.set_u32("tokenizer.ggml.bos_token_id", 2);
  w.set_u32("tokenizer.ggml.eos_token_id", 3);
  if (lowercase) w.set_bool("tokenizer.ggml.normalizer.lowercase", *lowercase);
  return make_tokenizer(GgufFile::from_bytes(w.to_bytes()));
}

TEST(WordPieceTokenizer, TakesTheLongestPieceFromTheLeftWithContinuations) {
  const auto tok = tokenizer();
  // "unaffable": "▁unaff" (longest start) then "able"; not "▁un" + "aff" + "able".
  EXPECT_EQ(tok->encode("unaffable", false, false),
            (std::vector<std::int32_t>{id(kStart + "unaff"), id("able")}));
  EXPECT_EQ(tok->encode("aaa", false, false),
            (std::vector<std::int32_t>{id(kStart + "a"), id("a"), id("a")}));
}

TEST(WordPieceTokenizer, AWordThatCannotBeCoveredIsUnknownAsAWhole) {
  const auto tok = tokenizer();
  // "unz": "▁un" matches but "z" does not: the whole word is [UNK], not "▁un" + [UNK].
  EXPECT_EQ(tok->encode("unz hello", false, false), (std::vector<std::int32_t>{1, id(kStart + "hello")}));
}

TEST(WordPieceTokenizer, LowerCasesStripsAccentsAndSplitsPunctuationAndCjk) {
  const auto tok = tokenizer();
  EXPECT_EQ(tok->encode("HELLO, Café!", false, false),
            (std::vector<std::int32_t>{id(kStart + "hello"), id(kStart + ","), id(kStart + "cafe"),
                                       id(kStart + "!")}));
  // A decomposed accent (e + U+0301) is dropped too; $ is an ASCII symbol, a word of its own.
  EXPECT_EQ(tok->encode("e\u0301cole$x", false, false),
            (std::vector<std::int32_t>{id(kStart + "ecole"), id(kStart + "$"), id(kStart + "x")}));
  EXPECT_EQ(tok->encode("我想", false, false),
            (std::vector<std::int32_t>{id(kStart + "我"), id(kStart + "想")}));
}

TEST(WordPieceTokenizer, DropsControlCharactersAndSplitsAtEveryWhitespace) {
  const auto tok = tokenizer();
  EXPECT_EQ(tok->encode("hel\x07lo\t\n world\u3000x", false, false),
            (std::vector<std::int32_t>{id(kStart + "hello"), id(kStart + "world"), id(kStart + "x")}));
  EXPECT_TRUE(tok->encode("", false, false).empty());
  EXPECT_TRUE(tok->encode(" \t\n", false, false).empty());
}

TEST(WordPieceTokenizer, AddBosWrapsInClsAndSep) {
  const auto tok = tokenizer();
  EXPECT_EQ(tok->encode("hello", true, false), (std::vector<std::int32_t>{2, id(kStart + "hello"), 3}));
  EXPECT_EQ(tok->encode("", true, false), (std::vector<std::int32_t>{2, 3}));
  EXPECT_EQ(tok->decode(tok->encode("hello world", true, false)), "hello world");
}

TEST(WordPieceTokenizer, ACasedVocabularyKeepsCaseAndAccents) {
  const auto tok =
      tokenizer(false);  // tokenizer.ggml.normalizer.lowercase = false: no accent stripping either
  EXPECT_EQ(tok->encode("Hello", false, false), (std::vector<std::int32_t>{1}));
  EXPECT_EQ(tok->encode("café", false, false), (std::vector<std::int32_t>{1}));
}

}  // namespace
}  // namespace lagvk
