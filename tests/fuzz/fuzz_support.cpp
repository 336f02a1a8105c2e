#include "tests/fuzz/fuzz_support.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/synthetic_vocab.hpp"
#include "engine/tokenizer/bpe_tokenizer.hpp"

namespace lagvk::fuzz {
namespace {

constexpr std::array<std::string_view, 11> kChatControlTokens = {
    "<|im_start|>",      "<|im_end|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>", "[INST]",
    "[/INST]",           "<<SYS>>",    "<</SYS>>",
    "<think>",           "</think>"};

std::int32_t type_id(TokenType t) {
  return static_cast<std::int32_t>(t);
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

/// Raw bytes written as GPT-2's byte characters, as BPE vocabularies store them.
std::string bpe_text(std::string_view raw) {
  std::string out;
  for (unsigned char b : raw) append_utf8(out, byte_to_bpe_char(b));
  return out;
}

}  // namespace

void broken_promise(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz: %.*s\n%.*s\n", int(what.size()), what.data(), int(detail.size()),
               detail.data());
  std::abort();
}

std::span<const std::string_view> chat_control_tokens() {
  return kChatControlTokens;
}

const Tokenizer& spm_tokenizer() {
  static const std::unique_ptr<Tokenizer> tokenizer = [] {
    auto vocab = make_synthetic_vocab(1500);
    for (auto text : kChatControlTokens) {
      vocab.tokens.emplace_back(text);
      vocab.scores.push_back(0.0f);
      vocab.types.push_back(type_id(TokenType::control));
    }
    GgufWriter w;
    write_spm_vocabulary(w, vocab);
    return make_tokenizer(GgufFile::from_bytes(w.to_bytes(), "fuzz-spm"));
  }();
  return *tokenizer;
}

std::unique_ptr<Tokenizer> make_bpe_tokenizer(std::string_view pre) {
  std::vector<std::string> tokens = {"<|begin_of_text|>", "<|end_of_text|>"};
  std::vector<std::int32_t> types(tokens.size(), type_id(TokenType::control));
  for (auto text : kChatControlTokens) {
    tokens.emplace_back(text);
    types.push_back(type_id(TokenType::control));
  }
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(bpe_text(std::string(1, char(b))));
    types.push_back(type_id(TokenType::normal));
  }
  // Words and the merges that reach them, best first: " the", "ing", "hello", digits.
  const std::vector<std::pair<std::string, std::string>> merges = {
      {" ", "t"}, {" t", "h"},  {" th", "e"},  {"i", "n"}, {"in", "g"}, {"h", "e"},
      {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"1", "2"}, {"12", "3"}, {"'", "s"}};
  std::vector<std::string> merge_lines;
  for (const auto& [left, right] : merges) {
    tokens.push_back(bpe_text(left + right));
    types.push_back(type_id(TokenType::normal));
    merge_lines.push_back(bpe_text(left) + " " + bpe_text(right));
  }
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", std::string(pre));
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_string_array("tokenizer.ggml.merges", merge_lines);
  w.set_u32("tokenizer.ggml.bos_token_id", 0);
  w.set_u32("tokenizer.ggml.eos_token_id", 1);
  w.set_u32("tokenizer.ggml.eot_token_id", 6);  // <|eot_id|>
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  return make_tokenizer(GgufFile::from_bytes(w.to_bytes(), "fuzz-bpe"));
}

}  // namespace lagvk::fuzz
