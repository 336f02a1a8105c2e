#pragma once
// A one-layer random model (width 64, 2 query heads over 1 KV head, tied output) that carries a real
// Hugging Face vocabulary and a chat template excerpt: for tests of tokenization and chat rendering
// through the engine, the C API, the CLI or the server, where the weights do not matter.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model/gguf_writer.hpp"
#include "engine/model/hf_tokenizer.hpp"
#include "engine/model/random_model.hpp"

namespace lagvk::test {

/// The Jinja excerpt lagvk recognises as the Qwen3 family (chat_template_from_jinja).
inline constexpr std::string_view kQwen3TemplateExcerpt =
    "{{ '<|im_start|>' + message.role + '\\n<think>' }}";

/// Writes the model to `path` and returns the path.
inline std::string write_hf_vocab_model(const std::string& path, const std::string& tokenizer_json,
                                        std::string_view chat_template, std::uint32_t context) {
  RandomModelSpec spec;
  spec.n_layers = 1;
  spec.n_embd = 64;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 128;
  spec.n_ctx = context;
  spec.tied_output = true;
  const HfTokenizer hf = read_hf_tokenizer(tokenizer_json);
  spec.n_vocab = std::uint32_t(hf.tokens.size());
  GgufWriter w = make_random_model(spec);
  write_tokenizer_metadata(w, hf);
  w.set_string("tokenizer.chat_template", std::string(chat_template));
  w.write(path);
  return path;
}

}  // namespace lagvk::test
