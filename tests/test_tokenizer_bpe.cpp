// Byte-level BPE: GPT-2's byte mapping, the three pre-tokenizer patterns on hand-worked texts, ranked
// merges on a tiny vocabulary, special tokens, and encode/decode round trips.
#include <gtest/gtest.h>

#include <random>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/synthetic_vocab.hpp"
#include "engine/tokenizer/bpe_pretokenizer.hpp"
#include "engine/tokenizer/bpe_tokenizer.hpp"
#include "engine/tokenizer/unicode_class.hpp"

namespace lagvk {
namespace {

using Words = std::vector<std::string_view>;
using Ids = std::vector<std::int32_t>;

TEST(BpeByteMap, PrintableBytesStayOthersMoveAboveU0100) {
  EXPECT_EQ(byte_to_bpe_char('A'), U'A');
  EXPECT_EQ(byte_to_bpe_char(' '), char32_t(0x120));   // "Ġ": bytes 0..32 come first
  EXPECT_EQ(byte_to_bpe_char('\n'), char32_t(0x10A));  // "Ċ"
  EXPECT_EQ(byte_to_bpe_char(127), char32_t(0x121));   // DEL follows the 33 control bytes
  EXPECT_EQ(byte_to_bpe_char(173), char32_t(0x143));   // soft hyphen is the 68th moved byte
  for (int b = 0; b < 256; ++b) EXPECT_EQ(bpe_char_to_byte(byte_to_bpe_char(std::uint8_t(b))), b);
  EXPECT_EQ(bpe_char_to_byte(0x200), -1);
}

TEST(UnicodeClass, LettersNumbersWhitespace) {
  EXPECT_TRUE(is_unicode_letter(U'a'));
  EXPECT_TRUE(is_unicode_letter(U'\u00e9'));  // é
  EXPECT_TRUE(is_unicode_letter(U'\u65e5'));  // 日
  EXPECT_FALSE(is_unicode_letter(U'1'));
  EXPECT_FALSE(is_unicode_letter(U'\U0001F600'));  // 😀 is a symbol
  EXPECT_TRUE(is_unicode_number(U'7'));
  EXPECT_TRUE(is_unicode_number(U'\u0663'));  // Arabic-Indic three
  EXPECT_TRUE(is_unicode_number(U'\u00bd'));  // ½ (No)
  EXPECT_TRUE(is_unicode_whitespace(U'\u3000'));
  EXPECT_FALSE(is_unicode_whitespace(U'x'));
  const auto chars = split_utf8("a\xc3\xa9\xff");
  ASSERT_EQ(chars.size(), 3u);
  EXPECT_EQ(chars[1].code_point, char32_t(0xE9));
  EXPECT_EQ(chars[2].code_point, kInvalidCodePoint);
}

const std::string kMixed = "Hello world's 12345 !!\n\n  x";

TEST(BpePreTokenizer, Llama3Pattern) {
  EXPECT_EQ(pre_tokenize(kMixed, PreTokenizer::llama3),
            (Words{"Hello", " world", "'s", " ", "123", "45", " !!\n\n", " ", " x"}));
  EXPECT_EQ(pre_tokenize("I'M", PreTokenizer::llama3), (Words{"I", "'M"}));  // contractions ignore case
  EXPECT_EQ(pre_tokenize("\n\nHi\n", PreTokenizer::llama3), (Words{"\n\n", "Hi", "\n"}));
  EXPECT_EQ(pre_tokenize("a  \n b", PreTokenizer::llama3), (Words{"a", "  \n", " b"}));
  EXPECT_EQ(pre_tokenize("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac", PreTokenizer::llama3),
            (Words{"h\xc3\xa9llo", " \xe6\x97\xa5\xe6\x9c\xac"}));
  EXPECT_EQ(pre_tokenize("hi \xf0\x9f\x98\x80!", PreTokenizer::llama3), (Words{"hi", " \xf0\x9f\x98\x80!"}));
  EXPECT_EQ(pre_tokenize("'hello", PreTokenizer::llama3), (Words{"'hello"}));
  EXPECT_EQ(pre_tokenize("", PreTokenizer::llama3), Words{});
}

TEST(BpePreTokenizer, Qwen2SplitsSingleDigits) {
  EXPECT_EQ(pre_tokenize(kMixed, PreTokenizer::qwen2),
            (Words{"Hello", " world", "'s", " ", "1", "2", "3", "4", "5", " !!\n\n", " ", " x"}));
}

TEST(BpePreTokenizer, Gpt2Pattern) {
  EXPECT_EQ(pre_tokenize(kMixed, PreTokenizer::gpt2),
            (Words{"Hello", " world", "'s", " 12345", " !!", "\n\n ", " x"}));
  EXPECT_EQ(pre_tokenize("I'M", PreTokenizer::gpt2), (Words{"I", "'", "M"}));  // case-sensitive
  EXPECT_EQ(pre_tokenize("end  ", PreTokenizer::gpt2), (Words{"end", "  "}));  // trailing run stays whole
}

// llama.cpp's "smollm": \p{N} first, then the gpt2 pattern inside each stretch between digits, so a
// space before a number is a word of its own and a stretch's trailing spaces stay whole.
TEST(BpePreTokenizer, SmollmIsolatesDigitsThenSplitsLikeGpt2) {
  ASSERT_EQ(pre_tokenizer_for("smollm"), PreTokenizer::digits_then_gpt2);
  EXPECT_EQ(pre_tokenize(kMixed, PreTokenizer::digits_then_gpt2),
            (Words{"Hello", " world", "'s", " ", "1", "2", "3", "4", "5", " !!", "\n\n ", " x"}));
  EXPECT_EQ(pre_tokenize("x  42y", PreTokenizer::digits_then_gpt2), (Words{"x", "  ", "4", "2", "y"}));
  EXPECT_EQ(pre_tokenize("I'M 7", PreTokenizer::digits_then_gpt2), (Words{"I", "'", "M", " ", "7"}));
  EXPECT_EQ(pre_tokenize("v\xc2\xb2", PreTokenizer::digits_then_gpt2),
            (Words{"v", "\xc2\xb2"}));  // U+00B2 is \p{N}
  EXPECT_EQ(pre_tokenize("", PreTokenizer::digits_then_gpt2), Words{});
}

TEST(BpePreTokenizer, WordsCoverTheText) {
  const std::string text =
      "Mixed \t text\r\n with 3.14, \xe2\x82\xac"
      "5 and \xff bytes\n";
  for (auto kind :
       {PreTokenizer::gpt2, PreTokenizer::llama3, PreTokenizer::qwen2, PreTokenizer::digits_then_gpt2}) {
    std::string joined;
    for (auto w : pre_tokenize(text, kind)) {
      EXPECT_FALSE(w.empty());
      joined += w;
    }
    EXPECT_EQ(joined, text);
  }
}

std::string mapped(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) append_utf8(out, byte_to_bpe_char(b));
  return out;
}

/// Every byte as a token, control tokens, then the given merged pieces (as raw text) and merges.
struct TinyBpe {
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;
  TinyBpe() {
    tokens = {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"};
    types.assign(3, static_cast<std::int32_t>(TokenType::control));
    for (int b = 0; b < 256; ++b) add(std::string(1, char(b)));
  }
  std::int32_t add(const std::string& raw) {
    tokens.push_back(mapped(raw));
    types.push_back(static_cast<std::int32_t>(TokenType::normal));
    return std::int32_t(tokens.size() - 1);
  }
  void merge(const std::string& left, const std::string& right) {
    merges.push_back(mapped(left) + " " + mapped(right));
  }
  std::unique_ptr<Tokenizer> build(const std::string& pre = "llama-bpe") const {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_string_array("tokenizer.ggml.merges", merges);
    w.set_u32("tokenizer.ggml.bos_token_id", 0);
    w.set_u32("tokenizer.ggml.eos_token_id", 1);
    w.set_u32("tokenizer.ggml.eot_token_id", 2);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    return make_tokenizer(GgufFile::from_bytes(w.to_bytes()));
  }
};

std::int32_t byte_token(unsigned char b) {
  return 3 + b;
}

TEST(BpeTokenizer, MergesLowestRankFirst) {
  TinyBpe v;
  const auto he = v.add("he"), ll = v.add("ll"), hell = v.add("hell"), hello = v.add("hello");
  v.merge("h", "e");
  v.merge("l", "l");
  v.merge("he", "ll");
  v.merge("hell", "o");
  const auto tok = v.build();
  EXPECT_EQ(tok->encode("hello", false, false), (Ids{hello}));
  EXPECT_EQ(tok->encode("hell", false, false), (Ids{hell}));
  EXPECT_EQ(tok->encode("hel", false, false), (Ids{he, byte_token('l')}));
  EXPECT_EQ(tok->encode("ll he", false, false), (Ids{ll, byte_token(' '), he}));  // " he" has no merge for Ġh
}

TEST(BpeTokenizer, RankBeatsPositionAndTiesGoLeft) {
  TinyBpe v;
  const auto bc = v.add("bc"), ab = v.add("ab"), aa = v.add("aa");
  v.merge("b", "c");
  v.merge("a", "b");
  v.merge("a", "a");
  const auto tok = v.build("gpt-2");
  EXPECT_EQ(tok->encode("abc", false, false), (Ids{byte_token('a'), bc}));
  EXPECT_EQ(tok->encode("aaa", false, false), (Ids{aa, byte_token('a')}));
  EXPECT_EQ(tok->encode("aaaa", false, false), (Ids{aa, aa}));
  (void)ab;
}

TEST(BpeTokenizer, Llama3TakesWholeWordsThatAreTokens) {
  TinyBpe v;
  const auto xyz = v.add("xyz");  // no merges lead to it
  EXPECT_EQ(v.build("llama-bpe")->encode("xyz", false, false), (Ids{xyz}));
  EXPECT_EQ(v.build("gpt-2")->encode("xyz", false, false),
            (Ids{byte_token('x'), byte_token('y'), byte_token('z')}));
}

TEST(BpeTokenizer, SpecialTokensBosAndNoSpacePrefix) {
  TinyBpe v;
  const auto tok = v.build();
  EXPECT_EQ(tok->encode("a<|eot_id|>b", true, true), (Ids{0, byte_token('a'), 2, byte_token('b')}));
  const auto plain = tok->encode("a<|eot_id|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0);
  EXPECT_EQ(tok->decode(plain), "a<|eot_id|>");
  EXPECT_EQ(tok->decode(Ids{0, byte_token('a'), 2}), "a");
  EXPECT_EQ(tok->decode(Ids{0, byte_token('a'), 2}, true), "<|begin_of_text|>a<|eot_id|>");
  EXPECT_TRUE(tok->is_end_of_generation(1));
  EXPECT_TRUE(tok->is_end_of_generation(2));
  EXPECT_TRUE(tok->add_bos_by_default());
  EXPECT_EQ(tok->find_token("<|eot_id|>"), 2);
  EXPECT_EQ(tok->find_token("no such token"), std::nullopt);
  EXPECT_EQ(tok->token_to_piece(byte_token(' ')), " ");
  EXPECT_EQ(tok->token_text(byte_token(' ')), "\xc4\xa0");  // Ġ
}

TEST(BpeTokenizer, DecodeOfEncodeRoundTrips) {
  TinyBpe v;
  v.add(" the");
  v.merge(" ", "t");
  v.merge(" t", "h");
  v.merge(" th", "e");
  for (const char* pre : {"llama-bpe", "qwen2", "gpt-2"}) {
    const auto tok = v.build(pre);
    for (const std::string s : {"The quick brown fox jumps over the lazy dog.", "  leading and trailing  ",
                                "tabs\tand\nnew\r\nlines\n\n", "digits 0123456789 3.14",
                                "unicode: h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
                                "invalid \xff\xfe bytes", "", " "}) {
      EXPECT_EQ(tok->decode(tok->encode(s, true, false)), s) << pre;
    }
  }
}

// Random byte strings (any bytes, malformed UTF-8 included) come back exactly: every byte has a token.
TEST(BpeTokenizer, RandomBytesRoundTrip) {
  TinyBpe v;
  v.add("ab");
  v.merge("a", "b");
  const auto tok = v.build();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 300; ++i) {
    std::string s(std::size_t(rng() % 40), '\0');
    for (auto& ch : s) ch = char(rng() % 4 == 0 ? "ab \n"[rng() % 4] : char(rng()));
    const auto ids = tok->encode(s, false, true);
    for (auto id : ids) ASSERT_LT(std::size_t(id), tok->vocab_size());
    ASSERT_EQ(tok->decode(ids, true), s);
  }
}

TEST(BpeTokenizer, RejectsUnknownPreTokenizersAndBadMerges) {
  TinyBpe v;
  try {
    (void)v.build("deepseek-llm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("deepseek-llm"), std::string::npos);
  }
  v.merges.push_back("nospace");
  EXPECT_THROW((void)v.build(), Error);
}

}  // namespace
}  // namespace lagvk
