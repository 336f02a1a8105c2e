#pragma once
// Differentiable cache augmentation (Liu et al., 2024, arXiv 2412.17747): a coprocessor of the decoder's
// architecture reads the decoder's KV cache and turns a set of trained soft-token embeddings into latent
// embeddings, which the unchanged decoder then processes as inputs, their keys and values appended to its
// cache. The coprocessor attends to the decoder's own cache pages (shared read-only; only a partly
// written last page is copied); its keys and values for the soft tokens live in a scratch sequence that
// is dropped afterwards.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/forward/forward.hpp"
#include "engine/kv/kv_pool.hpp"

namespace lagvk {

struct Augmentation {
  std::vector<float> latents;  ///< the coprocessor's output, latents x dim (its final normalised states)
  std::vector<float> logits;   ///< the decoder's logits after the last latent (the next token's)
};

/// The coprocessor's latents for `decoder_seq`'s cache: `soft_tokens` (rows x dim) run through
/// `coprocessor` at positions first_position.., each attending to the whole cache and the soft tokens
/// before it. decoder_seq is left as it was.
[[nodiscard]] std::vector<float> coprocessor_latents(Forward& coprocessor, KvPool& pool,
                                                     const KvSequence& decoder_seq,
                                                     std::span<const float> soft_tokens,
                                                     std::int32_t first_position);

/// coprocessor_latents(), then the latents through `decoder` as input embeddings at positions
/// first_position.. (appended to decoder_seq: the next token goes at first_position + latents). Both
/// models must have the same width and KV shape (a coprocessor is a copy of its decoder's architecture).
/// No soft tokens: nothing runs, and the result is empty.
[[nodiscard]] Augmentation augment_cache(Forward& coprocessor, Forward& decoder, KvPool& pool,
                                         KvSequence& decoder_seq, std::span<const float> soft_tokens,
                                         std::int32_t first_position);

}  // namespace lagvk
