#include "engine/tokenizer/vocab.hpp"

#include <algorithm>
#include <cctype>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"

namespace lagvk {

std::optional<std::int32_t> TokenVocab::find(std::string_view piece) const {
  auto it = id_of.find(std::string(piece));
  if (it == id_of.end()) return std::nullopt;
  return it->second;
}

namespace {

/// llama.cpp's attributes by model name: for a general.name containing "phi-3" or "phi3" (any case), every
/// special token (control, user-defined, unknown) and "</s>" strip the whitespace after them, except
/// "<unk>", "<s>" and "<|endoftext|>".
void set_rstrip(const GgufFile& f, TokenVocab& v) {
  v.rstrip.assign(v.size(), false);
  std::string name = f.get_string_opt("general.name").value_or("");
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const TokenType t = v.type[i];
    v.rstrip[i] = t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown;
  }
  auto set = [&](const char* text, bool on) {
    if (const auto id = v.find(text)) v.rstrip[std::size_t(*id)] = on;
  };
  set("</s>", true);
  for (const char* text : {"<unk>", "<s>", "<|endoftext|>"}) set(text, false);
}

/// eos, eot and the end-of-turn texts llama.cpp recognises in any vocabulary (it stops generating at
/// them whether or not the file names them): Llama 3's, ChatML's, Phi-3's, gemma's and others'.
void set_end_of_generation(TokenVocab& v) {
  for (const std::int32_t id : {v.eos, v.eot})
    if (id >= 0) v.end_of_generation.push_back(id);
  for (const char* text :
       {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"}) {
    const auto id = v.find(text);
    if (!id) continue;
    const TokenType t = v.type[std::size_t(*id)];
    if ((t == TokenType::control || t == TokenType::user_defined) &&
        std::find(v.end_of_generation.begin(), v.end_of_generation.end(), *id) == v.end_of_generation.end())
      v.end_of_generation.push_back(*id);
  }
}

}  // namespace

TokenVocab load_vocab(const GgufFile& f, bool add_bos_default) {
  TokenVocab v;
  v.text = f.get_string_array("tokenizer.ggml.tokens");
  const std::size_t n = v.text.size();
  if (n == 0) fail(Errc::bad_model_file, "'{}': tokenizer.ggml.tokens is empty", f.path());
  if (f.has("tokenizer.ggml.scores")) {
    v.score = f.get_f32_array("tokenizer.ggml.scores");
    if (v.score.size() != n)
      fail(Errc::bad_model_file, "'{}': tokenizer.ggml.scores has {} entries for {} tokens", f.path(),
           v.score.size(), n);
  } else {
    v.score.assign(n, 0.0f);
  }
  v.type.assign(n, TokenType::normal);
  if (f.has("tokenizer.ggml.token_type")) {
    const auto types = f.get_i32_array("tokenizer.ggml.token_type");
    if (types.size() != n)
      fail(Errc::bad_model_file, "'{}': tokenizer.ggml.token_type has {} entries for {} tokens", f.path(),
           types.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<std::int32_t>(TokenType::byte))
        fail(Errc::bad_model_file, "'{}': token {} has unknown token type {}", f.path(), i, types[i]);
      v.type[i] = static_cast<TokenType>(types[i]);
    }
  }
  v.id_of.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.id_of.emplace(v.text[i], std::int32_t(i));

  auto special = [&](const char* key) -> std::int32_t {
    const auto id = f.get_u32_opt(key);
    if (!id) return -1;
    if (*id >= n)
      fail(Errc::bad_model_file, "'{}': {} = {} is outside the vocabulary of {} tokens", f.path(), key, *id,
           n);
    return std::int32_t(*id);
  };
  v.bos = special("tokenizer.ggml.bos_token_id");
  v.eos = special("tokenizer.ggml.eos_token_id");
  v.unk = special("tokenizer.ggml.unknown_token_id");
  v.eot = special("tokenizer.ggml.eot_token_id");
  v.add_bos = f.get_bool_opt("tokenizer.ggml.add_bos_token").value_or(add_bos_default);
  v.add_space_prefix = f.get_bool_opt("tokenizer.ggml.add_space_prefix").value_or(true);
  set_rstrip(f, v);
  set_end_of_generation(v);
  return v;
}

}  // namespace lagvk
