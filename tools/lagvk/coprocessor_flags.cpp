#include "tools/lagvk/coprocessor_flags.hpp"

#include "engine/core/error.hpp"

namespace lagvk::cli {

std::vector<OptionSpec> coprocessor_options() {
  return {
      {"--coprocessor", "", "FILE",
       "cache augmentation (arXiv 2412.17747): a coprocessor trained for this model reads the prompt's "
       "KV cache and appends latent embeddings to it before the answer ('lagvk coprocessor make' writes "
       "an untrained one, tools/train trains one)",
       ""},
      {"--latents", "", "N", "use the coprocessor's first N soft tokens (0: all it was trained with)", "0"}};
}

std::uint32_t latents_from(const Args& args) {
  return std::uint32_t(args.get_int("--latents", 0, 0, augment::kMaxLatents));
}

lag::AugmentAt augment_at_from(const Args& args, const char* command) {
  const std::string at = args.get_or("--augment-at", "each-step");
  if (at != "each-step" && at != "prompt")
    fail(Errc::invalid_argument, "{}: --augment-at must be each-step or prompt, not '{}'", command, at);
  return at == "prompt" ? lag::AugmentAt::prompt : lag::AugmentAt::each_step;
}

std::unique_ptr<augment::Coprocessor> coprocessor_from(const Args& args, Engine& decoder,
                                                       const char* command) {
  const auto path = args.get("--coprocessor");
  if (!path) {
    if (args.has("--latents"))
      fail(Errc::invalid_argument, "{}: --latents needs --coprocessor FILE", command);
    return nullptr;
  }
  auto coprocessor = augment::Coprocessor::load(decoder, *path);
  coprocessor->check_latents(latents_from(args), fmt::format("{}: --latents", command));
  return coprocessor;
}

}  // namespace lagvk::cli
