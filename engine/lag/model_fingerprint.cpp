#include "engine/lag/model_fingerprint.hpp"

#include <xxhash.h>

#include <fmt/format.h>

#include "engine/lag/text_embedding.hpp"

namespace lagvk::lag {

namespace {

struct ContentHashes {
  std::string model, tokenizer;  ///< hex
};

/// xxh64 of every tensor (name and bytes), and of the vocabulary.
ContentHashes content_hashes(const Engine& engine) {
  std::string model_hash = weights_hash(engine.model().gguf());
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  const Tokenizer& tok = engine.tokenizer();
  for (std::size_t i = 0; i < tok.vocab_size(); ++i) {
    const std::string& text = tok.token_text(std::int32_t(i));
    XXH64_update(state, text.data(), text.size() + 1);  // with the terminating NUL as separator
  }
  const std::uint64_t tokenizer_hash = XXH64_digest(state);
  XXH64_freeState(state);
  return {std::move(model_hash), fmt::format("{:016x}", tokenizer_hash)};
}

}  // namespace

std::string weights_hash(const GgufFile& file) {
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  for (const auto& t : file.tensors()) {
    XXH64_update(state, t.name.data(), t.name.size());
    const auto data = file.tensor_data(t);
    XXH64_update(state, data.data(), data.size());
  }
  const std::uint64_t hash = XXH64_digest(state);
  XXH64_freeState(state);
  return fmt::format("{:016x}", hash);
}

logstore::EmbedderFingerprint embedder_fingerprint(Engine& engine) {
  const ContentHashes h = content_hashes(engine);
  const ModelConfig& c = engine.model().config();
  logstore::EmbedderFingerprint e;
  e.kind = logstore::EmbedderFingerprint::kModel;
  e.model_name = c.name;
  e.model_hash = h.model;
  e.tokenizer_hash = h.tokenizer;
  e.dim = c.n_embd;
  e.pooling = std::string(pooling_name(text_pooling(c)));
  return e;
}

logstore::Fingerprint model_fingerprint(Engine& engine) {
  const ContentHashes h = content_hashes(engine);
  const ForwardConfig& c = engine.config();
  logstore::Fingerprint f;
  f.model_name = engine.model().config().name;
  f.model_hash = h.model;
  f.tokenizer_hash = h.tokenizer;
  f.layers = c.layers;
  f.kv_heads = c.kv_heads;
  f.head_dim = c.head_dim;
  f.page_tokens = engine.pool().shape().page_tokens;
  f.kv_dtype = "f16";
  f.rope_mode = c.rope_mode == ref::RopeMode::normal ? "normal" : "neox";
  f.rope_base = c.rope_base;
  f.rope_scale = c.rope_scale;
  return f;
}

}  // namespace lagvk::lag
