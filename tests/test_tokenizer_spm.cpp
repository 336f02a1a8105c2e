// SentencePiece tokenizer: hand-worked merges on a tiny vocabulary (score order, leftmost ties, byte
// fallback, special tokens), decoding rules, and encode/decode round trips on a mixed corpus.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/random_model.hpp"
#include "engine/model/synthetic_vocab.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk {
namespace {

const std::string S = "\xe2\x96\x81";  // ▁

struct TinyVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;
  std::int32_t add(std::string t, float score, TokenType type = TokenType::normal) {
    tokens.push_back(std::move(t));
    scores.push_back(score);
    types.push_back(static_cast<std::int32_t>(type));
    return std::int32_t(tokens.size() - 1);
  }
};

std::unique_ptr<Tokenizer> tokenizer_for(const TinyVocab& v, const std::string& model = "llama") {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", model);
  w.set_string_array("tokenizer.ggml.tokens", v.tokens);
  w.set_f32_array("tokenizer.ggml.scores", v.scores);
  w.set_i32_array("tokenizer.ggml.token_type", v.types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  const auto f = GgufFile::from_bytes(w.to_bytes());
  return make_tokenizer(f);
}

// <unk>, <s>, </s>, 256 bytes, then the pieces each test adds.
TinyVocab base_vocab() {
  TinyVocab v;
  v.add("<unk>", 0, TokenType::unknown);
  v.add("<s>", 0, TokenType::control);
  v.add("</s>", 0, TokenType::control);
  for (int i = 0; i < 256; ++i) v.add(fmt::format("<0x{:02X}>", i), 0, TokenType::byte);
  return v;
}

std::int32_t byte_id(int b) {
  return 3 + b;
}

using Ids = std::vector<std::int32_t>;

TEST(SpmTokenizer, MergesPairsInScoreOrder) {
  auto v = base_vocab();
  const auto sp = v.add(S, -1), a = v.add("a", -2), b = v.add("b", -3), c = v.add("c", -4);
  const auto sa = v.add(S + "a", -5), sab = v.add(S + "ab", -7), bc = v.add("bc", -0.5f);
  v.add("ab", -6);
  const auto tok = tokenizer_for(v);
  // "▁ab": ▁a (-5) beats ab (-6); then ▁a + b = ▁ab (-7).
  EXPECT_EQ(tok->encode("ab", false, false), (Ids{sab}));
  // "▁abc": bc (-0.5) is the best pair, then ▁a; "▁abc" is no token.
  EXPECT_EQ(tok->encode("abc", false, false), (Ids{sa, bc}));
  // BOS first; spaces become ▁; "▁c" is no token.
  EXPECT_EQ(tok->encode("a c", true, false), (Ids{1, sa, sp, c}));
  (void)a;
  (void)b;
}

TEST(SpmTokenizer, EqualScoresMergeLeftmostFirst) {
  auto v = base_vocab();
  const auto sp = v.add(S, -1), x = v.add("x", -2), xx = v.add("xx", -3);
  const auto tok = tokenizer_for(v);
  EXPECT_EQ(tok->encode("xxx", false, false), (Ids{sp, xx, x}));
  EXPECT_EQ(tok->encode("xxxx", false, false), (Ids{sp, xx, xx}));
}

TEST(SpmTokenizer, UnknownCharactersFallBackToBytes) {
  auto v = base_vocab();
  const auto sp = v.add(S, -1);
  const auto tok = tokenizer_for(v);
  EXPECT_EQ(tok->encode("\xc3\xa9", false, false), (Ids{sp, byte_id(0xC3), byte_id(0xA9)}));  // é
  EXPECT_EQ(tok->encode("\xf0\x9f\x98\x80", false, false),
            (Ids{sp, byte_id(0xF0), byte_id(0x9F), byte_id(0x98), byte_id(0x80)}));  // 😀
  EXPECT_EQ(tok->decode(tok->encode("\xc3\xa9", true, false)), "\xc3\xa9");
}

TEST(SpmTokenizer, SpecialTokensOnlyWhenAsked) {
  auto v = base_vocab();
  const auto sp = v.add(S, -1), a = v.add("a", -2), b = v.add("b", -3);
  const auto sa = v.add(S + "a", -4);
  const auto tok = tokenizer_for(v);
  // After a special token the text gets its space prefix again, like llama.cpp.
  EXPECT_EQ(tok->encode("a</s>b", false, true), (Ids{sa, 2, sp, b}));
  const auto plain = tok->encode("a</s>b", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  EXPECT_EQ(plain.front(), sa);
  EXPECT_EQ(plain.back(), b);
  EXPECT_EQ(tok->decode(plain), "a</s>b");
  EXPECT_EQ(tok->decode(Ids{1, sa, 2}), "a");               // control tokens render as nothing
  EXPECT_EQ(tok->decode(Ids{1, sa, 2}, true), "<s>a</s>");  // unless asked
  EXPECT_EQ(tok->token_to_piece(sa), " a");                 // mid-sequence pieces keep the space
  EXPECT_EQ(tok->token_to_piece(byte_id(0x41)), "A");
  EXPECT_EQ(tok->token_text(sa), S + "a");
  (void)a;
}

TEST(SpmTokenizer, EmptyTextGivesOnlyBos) {
  auto v = base_vocab();
  v.add(S, -1);
  const auto tok = tokenizer_for(v);
  EXPECT_EQ(tok->encode("", true, false), (Ids{1}));
  EXPECT_TRUE(tok->encode("", false, false).empty());
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_TRUE(tok->is_end_of_generation(2));
  EXPECT_FALSE(tok->is_end_of_generation(1));
  EXPECT_FALSE(tok->is_end_of_generation(-1));
}

TEST(SpmTokenizer, UnsupportedKindsAreNamed) {
  auto v = base_vocab();
  try {
    (void)tokenizer_for(v, "rwkv");  // "bert" is WordPiece now (engine/tokenizer/wordpiece_tokenizer.hpp)
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rwkv"), std::string::npos);
  }
  // A BPE vocabulary without tokenizer.ggml.pre would need llama.cpp's "default" pre-tokenizer.
  try {
    (void)tokenizer_for(v, "gpt2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'default'"), std::string::npos) << e.what();
  }
}

std::unique_ptr<Tokenizer> synthetic_tokenizer() {
  RandomModelSpec s;
  s.n_layers = 1;
  s.n_embd = 32;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.n_ff = 32;
  s.n_vocab = 1500;
  return make_tokenizer(GgufFile::from_bytes(make_random_model(s).to_bytes()));
}

TEST(SpmTokenizer, SyntheticVocabularyTokenizesWords) {
  const auto tok = synthetic_tokenizer();
  const auto ids = tok->encode("the cat sat on the mat", true, false);
  std::vector<std::string> pieces;
  for (auto id : ids) pieces.push_back(tok->token_text(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"<s>", S + "the", S + "cat", S + "sat", S + "on", S + "the",
                                              S + "mat"}));
}

// (Text containing U+2581 itself cannot round-trip: SentencePiece uses it for the space, and decodes
// it as one, in llama.cpp as here.)
TEST(SpmTokenizer, DecodeOfEncodeRoundTrips) {
  const auto tok = synthetic_tokenizer();
  const std::vector<std::string> corpus = {
      "Hello world",
      "The quick brown fox jumps over the lazy dog.",
      "  two leading spaces",
      "trailing spaces   ",
      "multiple     inner    spaces",
      "tabs\tand\nnew\r\nlines",
      "digits 0123456789 and 3.14159, -42",
      "unicode: h\xc3\xa9llo w\xc3\xb6rld \xc3\xb1 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "emoji \xf0\x9f\x98\x80\xf0\x9f\x8e\x89 done",
      " ",
      "a",
      "<s> looks special but is text",
      "punctuation!?;:'\"()",
      "invalid\xff\xfeutf8",  // bytes that start no valid character still come back
      "cut\xe6\x97",
  };
  for (const auto& s : corpus) {
    for (bool bos : {false, true}) {
      const auto ids = tok->encode(s, bos, false);
      for (auto id : ids) EXPECT_LT(std::size_t(id), tok->vocab_size());
      EXPECT_EQ(tok->decode(ids), s) << "bos=" << bos;
    }
  }
}

// Random bytes never break the tokenizer; ASCII-only text always round-trips.
TEST(SpmTokenizer, RandomTextIsSafe) {
  const auto tok = synthetic_tokenizer();
  std::mt19937_64 rng(8);
  for (int i = 0; i < 300; ++i) {
    std::string bytes(std::size_t(rng() % 40), '\0'), ascii = bytes;
    for (auto& ch : bytes) ch = char(rng());
    for (auto& ch : ascii) ch = char(32 + rng() % 95);
    for (auto id : tok->encode(bytes, true, true)) ASSERT_LT(std::size_t(id), tok->vocab_size());
    (void)tok->decode(tok->encode(bytes, true, true), true);
    ASSERT_EQ(tok->decode(tok->encode(ascii, true, false)), ascii);
  }
}

// Chat models end a turn with a token their file may not name (no eot_token_id): llama.cpp recognises
// gemma's "<end_of_turn>" and Phi-3's "<|end|>" and "<|endoftext|>" by their text and stops there, so
// lagvk does too; other control tokens (the turn openers) do not end a generation.
TEST(SpmTokenizer, EndOfTurnTokensEndAGenerationWithoutAnEotId) {
  RandomModelSpec s;
  s.n_layers = 1;
  s.n_embd = 32;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.n_ff = 32;
  s.n_vocab = 400;
  auto ends = [&](const std::string& arch, const char* text) {
    s.arch = arch;
    const auto tok = make_tokenizer(GgufFile::from_bytes(make_random_model(s).to_bytes()));
    const auto id = tok->find_token(text);
    EXPECT_TRUE(id) << arch << " has no token " << text;
    EXPECT_TRUE(tok->is_end_of_generation(tok->eos())) << arch;
    return id && tok->is_end_of_generation(*id);
  };
  EXPECT_TRUE(ends("gemma2", "<end_of_turn>"));
  EXPECT_FALSE(ends("gemma2", "<start_of_turn>"));
  EXPECT_TRUE(ends("phi3", "<|end|>"));
  EXPECT_TRUE(ends("phi3", "<|endoftext|>"));
  EXPECT_FALSE(ends("phi3", "<|user|>"));
  EXPECT_FALSE(ends("phi3", "<s>"));
}

}  // namespace
}  // namespace lagvk
