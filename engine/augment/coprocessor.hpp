#pragma once
// A cache-augmentation coprocessor loaded beside its decoder (arXiv 2412.17747): its weights on the
// decoder's device, reading the decoder's KV pages from the decoder's own pool. Augmenting a sequence
// appends the latents' keys and values to it; decoding then continues as usual. Without a coprocessor
// nothing of this runs, so a decoder alone behaves exactly as it always has.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/api/engine.hpp"
#include "engine/augment/coprocessor_file.hpp"
#include "engine/forward/cache_augmentation.hpp"

namespace lagvk::augment {

class Coprocessor {
 public:
  /// Opens the coprocessor file at `path` for `decoder`: refuses (Errc::store_model_mismatch) a
  /// coprocessor trained for other weights, and (Errc::bad_model_file) one that is not a coprocessor or
  /// whose architecture is not the decoder's.
  [[nodiscard]] static std::unique_ptr<Coprocessor> load(Engine& decoder, const std::string& path);

  [[nodiscard]] const CoprocessorCard& card() const { return card_; }
  /// The latents a full augmentation appends (the file's count).
  [[nodiscard]] std::uint32_t latents() const { return card_.latents; }
  /// The latents an augmentation asked for `requested` appends (0: all of them).
  [[nodiscard]] std::uint32_t latents_for(std::uint32_t requested) const {
    return requested == 0 ? card_.latents : requested;
  }
  /// Throws Errc::invalid_argument when `requested` latents (0: all) are more than the file's soft tokens:
  /// "{what} {requested} exceeds the N soft tokens of the coprocessor 'FILE'" (`what` names the setting,
  /// e.g. "log add: --latents"). Every caller that takes a latent count checks it here.
  void check_latents(std::uint32_t requested, std::string_view what) const;
  /// The file, for messages.
  [[nodiscard]] const std::string& path() const { return model_.gguf().path(); }

  /// Augments `seq`, whose next token would take `next_position`, with the first `latents` soft tokens
  /// (0: all of them): the decoder's logits after the last latent, which the next token follows at
  /// next_position + latents. Throws Errc::context_full when the latents do not fit the context.
  [[nodiscard]] Augmentation augment(KvSequence& seq, std::int32_t next_position, std::uint32_t latents = 0);

 private:
  Coprocessor(Engine& decoder, Model model, CoprocessorCard card);

  Engine& decoder_;
  Model model_;
  CoprocessorCard card_;
  std::unique_ptr<GpuWeights> weights_;
  std::unique_ptr<Forward> forward_;  ///< declared after weights_: destroyed first
};

}  // namespace lagvk::augment
