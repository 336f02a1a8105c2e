#pragma once
// Cache augmentation of a model's turn (engine/augment, arXiv 2412.17747) where LAG builds the context:
// after the logs and the prompt are in the cache, the coprocessor's latents are appended before the model
// writes. Shared by the agents' turns and by one answer (lag::ask).
#include <cstdint>

#include "engine/augment/coprocessor.hpp"
#include "engine/lag/context_builder.hpp"

namespace lagvk::lag {

/// At every step of an agent, or at the first only (the question's prompt).
enum class AugmentAt { prompt, each_step };

struct TurnAugmentation {
  augment::Coprocessor* coprocessor = nullptr;  ///< none: no augmentation
  std::uint32_t latents = 0;                    ///< 0: all the coprocessor's
  AugmentAt at = AugmentAt::each_step;
  /// Whether the turn of step `step` (0: the first) is augmented.
  [[nodiscard]] bool applies(std::uint32_t step) const {
    return coprocessor != nullptr && (at == AugmentAt::each_step || step == 0);
  }
};

struct AppliedAugmentation {
  std::uint32_t latents = 0;  ///< appended (0: none)
  double ms = 0;              ///< the coprocessor's pass and the decoder's over the latents
};

/// Appends the latents `augmentation` asks for after `ctx`'s last entry: ctx.logits become the decoder's
/// after the last latent and ctx.next_position moves past them. Without room for the latents and one
/// written token the context is left as it is (the turn runs as without a coprocessor): 0 latents.
AppliedAugmentation augment_context(BuiltContext& ctx, const TurnAugmentation& augmentation);

}  // namespace lagvk::lag
