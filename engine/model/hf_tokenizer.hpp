#pragma once
// Hugging Face byte-level BPE tokenizers (tokenizer.json) as GGUF tokenizer metadata, the way llama.cpp's
// converter writes them: tokenizer.ggml.model "gpt2", tokens by id, token types (added special tokens
// are control tokens, other added tokens user-defined), merges as "left right", and the pre-tokenizer
// name recognised from the Split regex. Lets tests and `lagvk make-model --vocab` build models with
// real vocabularies (Llama 3, Qwen2/3) without downloading a model.
#include <cstdint>
#include <string>
#include <vector>

namespace lagvk {

class GgufWriter;

struct HfTokenizer {
  std::vector<std::string> tokens;  ///< by id
  std::vector<std::int32_t> types;  ///< llama.cpp token types: 1 normal, 3 control, 4 user-defined
  std::vector<std::string> merges;  ///< "left right", by rank
  std::string pre;                  ///< tokenizer.ggml.pre: "llama-bpe" or "qwen2"
  std::int32_t bos = -1, eos = -1;  ///< from tokenizer_config.json beside tokenizer.json; -1 when none
  bool add_bos = false;
};

/// Reads tokenizer.json (and tokenizer_config.json in the same directory, when present, for BOS/EOS).
/// pre overrides the pre-tokenizer name; otherwise it is recognised from the regex (digits in runs of
/// up to three: llama-bpe; single digits: qwen2) or the call fails naming the regex.
[[nodiscard]] HfTokenizer read_hf_tokenizer(const std::string& tokenizer_json, const std::string& pre = "");

/// Replaces the tokenizer metadata of w with t's (and drops SentencePiece-only keys).
void write_tokenizer_metadata(GgufWriter& w, const HfTokenizer& t);

}  // namespace lagvk
