#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/tokenizer/bpe_tokenizer.hpp"
#include "engine/tokenizer/spm_tokenizer.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/wordpiece_tokenizer.hpp"

namespace lagvk {

std::unique_ptr<Tokenizer> make_tokenizer(const GgufFile& file) {
  const auto kind = file.get_string("tokenizer.ggml.model");
  if (kind == "llama") return std::make_unique<SpmTokenizer>(load_vocab(file, true));
  if (kind == "gpt2") {
    const auto pre_name = file.get_string_opt("tokenizer.ggml.pre").value_or("default");
    const auto pre = pre_tokenizer_for(pre_name);
    if (!pre)
      fail(Errc::unsupported_model,
           "'{}' uses the BPE pre-tokenizer '{}' (tokenizer.ggml.pre), which lagvk does not support yet "
           "(supported: llama-bpe, qwen2, smollm, gpt-2)",
           file.path(), pre_name);
    return std::make_unique<BpeTokenizer>(load_vocab(file, false),
                                          file.get_string_array("tokenizer.ggml.merges"), *pre,
                                          *pre == PreTokenizer::llama3);
  }
  if (kind == "bert") {
    WordPieceOptions o;
    o.lowercase = file.get_bool_opt("tokenizer.ggml.normalizer.lowercase").value_or(true);
    o.strip_accents = file.get_bool_opt("tokenizer.ggml.normalizer.strip_accents").value_or(o.lowercase);
    o.add_sep = file.get_bool_opt("tokenizer.ggml.add_eos_token").value_or(true);
    return std::make_unique<WordPieceTokenizer>(load_vocab(file, true), o);
  }
  fail(Errc::unsupported_model,
       "'{}' uses the tokenizer '{}', which lagvk does not support (supported: llama, gpt2, bert)",
       file.path(), kind);
}

}  // namespace lagvk
