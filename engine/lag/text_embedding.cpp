#include "engine/lag/text_embedding.hpp"

#include <numeric>

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {

/// A decoder's final hidden states of `tokens`, pooled: mean over all, or one token's (last or first).
/// One token's state comes from mean_hidden_state over that token alone, evaluated after the tokens
/// before it (causal attention: they are all it sees).
std::vector<float> pooled_decoder_state(Engine& engine, const std::vector<std::int32_t>& tokens,
                                        Pooling pooling) {
  auto seq = engine.new_sequence();
  if (tokens.size() > seq->max_tokens())
    fail(Errc::context_full, "text of {} tokens is longer than the context", tokens.size());
  std::vector<std::int32_t> positions(tokens.size());
  std::iota(positions.begin(), positions.end(), 0);
  const std::span<const std::int32_t> ids(tokens), at(positions);
  switch (pooling) {
    case Pooling::mean:
      return engine.forward().mean_hidden_state(*seq, ids, at);
    case Pooling::cls:
      return engine.forward().mean_hidden_state(*seq, ids.first(1), at.first(1));
    case Pooling::last: {
      const std::size_t n = tokens.size();
      if (n > 1) (void)engine.forward().eval(*seq, ids.first(n - 1), at.first(n - 1));
      return engine.forward().mean_hidden_state(*seq, ids.last(1), at.last(1));
    }
    case Pooling::none:
    case Pooling::rank:
      break;
  }
  fail(Errc::unsupported_model,
       "'{}' asks for {} pooling, which makes no sentence vector (lagvk embeds with mean, cls or last)",
       engine.model().config().name, pooling_name(pooling));
}

/// The ids a text is embedded from. An encoder: [CLS] text [SEP] (its WordPiece tokenizer reads the
/// file's add_bos/add_eos flags). A decoder: BOS as the file asks, and EOS after the text when the file's
/// tokenizer.ggml.add_eos_token says so, as llama.cpp embeds it (a decoder embedding model pooling the
/// last token then pools EOS's state).
std::vector<std::int32_t> embedding_tokens(Engine& engine, const std::string& text) {
  const Tokenizer& tok = engine.tokenizer();
  auto tokens = tok.encode(text, tok.add_bos_by_default(), false);
  if (tokens.empty()) fail(Errc::invalid_argument, "cannot embed an empty text");
  const bool add_eos = engine.model().gguf().get_bool_opt("tokenizer.ggml.add_eos_token").value_or(false);
  if (!engine.is_embedding_model() && add_eos && tok.eos() >= 0) tokens.push_back(tok.eos());
  return tokens;
}

}  // namespace

Pooling text_pooling(const ModelConfig& config) {
  return config.pooling == Pooling::none ? Pooling::mean : config.pooling;
}

std::vector<float> embed_text(Engine& engine, const std::string& text) {
  const auto tokens = embedding_tokens(engine, text);
  if (engine.is_embedding_model()) return engine.encoder().embed(tokens);
  return pooled_decoder_state(engine, tokens, text_pooling(engine.model().config()));
}

}  // namespace lagvk::lag
