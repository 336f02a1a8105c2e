#include "engine/tokenizer/vocab_tokenizer.hpp"

#include "engine/core/error.hpp"

namespace lagvk {

const std::string& VocabTokenizer::token_text(std::int32_t id) const {
  if (!vocab_.valid(id))
    fail(Errc::bad_input, "token id {} is outside the vocabulary (0..{})", id, vocab_.size() - 1);
  return vocab_.text[std::size_t(id)];
}

}  // namespace lagvk
