#include "tools/lagvk/embed_model_flag.hpp"

#include "engine/core/error.hpp"

namespace lagvk::cli {

OptionSpec embed_model_option(const char* what) {
  return {
      "--embed-model", "", "FILE",
      std::string("embedding model GGUF (arch bert such as all-MiniLM-L6-v2, or a qwen3 embedding model) ") +
          what + "; the store records it and refuses another",
      ""};
}

EmbedModel load_embed_model(const Args& args, const LoadOptions& generator) {
  EmbedModel out;
  const auto path = args.get("--embed-model");
  if (!path) return out;
  if (path->empty()) fail(Errc::invalid_argument, "--embed-model needs a GGUF file");
  LoadOptions load;
  load.device = generator.device;
  load.instance = generator.instance;
  out.engine = Engine::load(*path, load);
  out.embedder = lag::TextEmbedder::model(*out.engine);
  return out;
}

}  // namespace lagvk::cli
