#include "engine/augment/coprocessor.hpp"

#include <algorithm>

#include "engine/core/error.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/lag/model_fingerprint.hpp"

namespace lagvk::augment {
namespace {

/// The shapes the coprocessor's attention and its latents share with the decoder.
void check_architecture(const ForwardConfig& decoder, const ForwardConfig& coprocessor,
                        const std::string& path) {
  if (decoder.dim != coprocessor.dim || decoder.layers != coprocessor.layers ||
      decoder.kv_heads != coprocessor.kv_heads || decoder.head_dim != coprocessor.head_dim ||
      decoder.rope_base != coprocessor.rope_base || decoder.rope_mode != coprocessor.rope_mode)
    fail(Errc::bad_model_file,
         "'{}' has width {}, {} layers and {} KV heads of {}, but its decoder has width {}, {} layers and {} "
         "KV "
         "heads of {}: a coprocessor has its decoder's architecture",
         path, coprocessor.dim, coprocessor.layers, coprocessor.kv_heads, coprocessor.head_dim, decoder.dim,
         decoder.layers, decoder.kv_heads, decoder.head_dim);
}

}  // namespace

std::unique_ptr<Coprocessor> Coprocessor::load(Engine& decoder, const std::string& path) {
  Model model = Model::from_gguf(GgufFile::open(path));
  CoprocessorCard card = read_coprocessor_card(model);
  const std::string decoder_hash = lag::weights_hash(decoder.model().gguf());
  if (card.decoder_hash != decoder_hash)
    fail(Errc::store_model_mismatch,
         "'{}' was trained for the decoder '{}' (weights {}), not for '{}' (weights {}): a coprocessor works "
         "only "
         "beside the exact model it was trained with",
         path, card.decoder_name, card.decoder_hash, decoder.model().config().name, decoder_hash);
  return std::unique_ptr<Coprocessor>(new Coprocessor(decoder, std::move(model), std::move(card)));
}

Coprocessor::Coprocessor(Engine& decoder, Model model, CoprocessorCard card)
    : decoder_(decoder), model_(std::move(model)), card_(std::move(card)) {
  const HostWeights host = host_weights(model_, decoder.context_tokens());
  check_architecture(decoder.config(), host.config, path());
  weights_ = std::make_unique<GpuWeights>(decoder.context(), host);
  // The soft tokens run as one batch where they can (a full augmentation is one pass per max_batch).
  forward_ = std::make_unique<Forward>(decoder.context(), *weights_, std::min(card_.latents, 256u));
}

void Coprocessor::check_latents(std::uint32_t requested, std::string_view what) const {
  if (requested > card_.latents)
    fail(Errc::invalid_argument, "{} {} exceeds the {} soft tokens of the coprocessor '{}'", what, requested,
         card_.latents, path());
}

Augmentation Coprocessor::augment(KvSequence& seq, std::int32_t next_position, std::uint32_t latents) {
  check_latents(latents, "latents");
  const std::uint32_t count = latents_for(latents);
  if (std::uint64_t(seq.length()) + count > seq.max_tokens())
    fail(
        Errc::context_full,
        "context full: {} latents after {} entries exceed the context's {} tokens; use fewer latents or load "
        "the model with a larger context",
        count, seq.length(), seq.max_tokens());
  const std::span<const float> soft =
      std::span<const float>(card_.soft_tokens).first(std::size_t(count) * decoder_.config().dim);
  return augment_cache(*forward_, decoder_.forward(), decoder_.pool(), seq, soft, next_position);
}

}  // namespace lagvk::augment
