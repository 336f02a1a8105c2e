#pragma once
// --embed-model FILE, shared by the commands that make or read a store's dense vectors (log add, ask,
// eval): the embedding model (lag::TextEmbedder::model), loaded on the generator's device.
#include <memory>
#include <optional>

#include "engine/api/engine.hpp"
#include "engine/lag/embedder.hpp"
#include "tools/lagvk/args.hpp"

namespace lagvk::cli {

/// The option, its help saying what the command embeds.
[[nodiscard]] OptionSpec embed_model_option(const char* what);

/// The loaded embedding model of --embed-model (both empty without the flag).
struct EmbedModel {
  std::unique_ptr<Engine> engine;
  std::optional<lag::TextEmbedder> embedder;
};

/// Loads --embed-model's file with the generator's device and Vulkan instance (its own context length).
[[nodiscard]] EmbedModel load_embed_model(const Args& args, const LoadOptions& generator);

}  // namespace lagvk::cli
