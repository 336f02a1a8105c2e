#include "engine/lag/turn_augmentation.hpp"

#include <chrono>

namespace lagvk::lag {

AppliedAugmentation augment_context(BuiltContext& ctx, const TurnAugmentation& augmentation) {
  if (augmentation.coprocessor == nullptr) return {};
  const std::uint32_t want = augmentation.coprocessor->latents_for(augmentation.latents);
  if (std::uint64_t(ctx.sequence->length()) + want + 1 >= ctx.sequence->max_tokens()) return {};
  const auto t0 = std::chrono::steady_clock::now();
  Augmentation a = augmentation.coprocessor->augment(*ctx.sequence, ctx.next_position, want);
  ctx.logits = std::move(a.logits);
  ctx.next_position += std::int32_t(want);
  return {want, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()};
}

}  // namespace lagvk::lag
