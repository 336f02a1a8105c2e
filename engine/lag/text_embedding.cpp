#include "engine/lag/text_embedding.hpp"

#include <numeric>

#include "engine/core/error.hpp"

namespace lagvk::lag {

std::vector<float> embed_text(Engine& engine, const std::string& text) {
  const Tokenizer& tok = engine.tokenizer();
  if (engine.is_embedding_model()) {
    // [CLS] text [SEP] (the file's add_bos/add_eos flags), pooled as the file says.
    const auto tokens = tok.encode(text, tok.add_bos_by_default(), false);
    if (tokens.empty()) fail(Errc::invalid_argument, "cannot embed an empty text");
    return engine.encoder().embed(tokens);
  }
  const auto tokens = tok.encode(text, tok.add_bos_by_default(), false);
  if (tokens.empty()) fail(Errc::invalid_argument, "cannot embed an empty text");
  auto seq = engine.new_sequence();
  if (tokens.size() > seq->max_tokens())
    fail(Errc::context_full, "text of {} tokens is longer than the context", tokens.size());
  std::vector<std::int32_t> positions(tokens.size());
  std::iota(positions.begin(), positions.end(), 0);
  return engine.forward().mean_hidden_state(*seq, tokens, positions);
}

}  // namespace lagvk::lag
