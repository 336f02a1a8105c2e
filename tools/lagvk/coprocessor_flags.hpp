#pragma once
// --coprocessor FILE and --latents N, shared by the commands that can augment a model's cache with a
// coprocessor (engine/augment): run, ask, eval and log add; --augment-at's values for the agents.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/augment/coprocessor.hpp"
#include "engine/lag/turn_augmentation.hpp"
#include "tools/lagvk/args.hpp"

namespace lagvk::cli {

[[nodiscard]] std::vector<OptionSpec> coprocessor_options();

/// The coprocessor --coprocessor names, loaded beside `decoder` (null without the flag); --latents
/// without --coprocessor, or more latents than the file has, fail naming `command`.
[[nodiscard]] std::unique_ptr<augment::Coprocessor> coprocessor_from(const Args& args, Engine& decoder,
                                                                     const char* command);

/// --latents (0: all of the coprocessor's).
[[nodiscard]] std::uint32_t latents_from(const Args& args);

/// --augment-at: each-step (the default) or prompt; another value fails naming `command`.
[[nodiscard]] lag::AugmentAt augment_at_from(const Args& args, const char* command);

}  // namespace lagvk::cli
