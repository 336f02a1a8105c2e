#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/tokenizer/spm_tokenizer.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk {

std::unique_ptr<Tokenizer> make_tokenizer(const GgufFile& file) {
  const auto kind = file.get_string("tokenizer.ggml.model");
  if (kind == "llama") return std::make_unique<SpmTokenizer>(load_vocab(file, true));
  if (kind == "gpt2")
    fail(
        "'{}' uses a byte-level BPE tokenizer (tokenizer.ggml.model = gpt2), which lagvk does not support "
        "yet; supported: llama (SentencePiece)",
        file.path());
  fail("'{}' uses the tokenizer '{}', which lagvk does not support (supported: llama)", file.path(), kind);
}

}  // namespace lagvk
