#include "tools/lagvk/generation_flags.hpp"

#include <limits>
#include <random>

#include "engine/core/error.hpp"

namespace lagvk::cli {

std::vector<OptionSpec> generation_options() {
  return {{"--n-predict", "-n", "N", "tokens to generate", "128"},
          {"--temp", "", "T", "sampling temperature; 0 = greedy", "0.8"},
          {"--top-k", "", "K", "keep the K most likely tokens; 0 = off", "40"},
          {"--top-p", "", "P", "keep the smallest set with probability >= P; 1 = off", "0.95"},
          {"--min-p", "", "P", "drop tokens below P x the top probability; 0 = off", "0.05"},
          {"--repeat-penalty", "", "R", "penalise the last 64 tokens; 1 = off", "1.0"},
          {"--seed", "", "S", "random seed (same seed, same output)", "random"},
          {"--ignore-eos", "", "", "keep generating past end-of-generation tokens", ""}};
}

GenerateOptions generation_from(const Args& args, std::uint64_t& seed_used) {
  GenerateOptions g;
  g.max_tokens = std::uint32_t(args.get_int("--n-predict", 128, 0, kMaxTokens));
  g.sampling.temperature = float(args.get_double("--temp", 0.8, 0.0, 100.0));
  g.sampling.top_k = std::int32_t(args.get_int("--top-k", 40, 0, std::numeric_limits<std::int32_t>::max()));
  g.sampling.top_p = float(args.get_double("--top-p", 0.95, 0.0, 1.0, true));
  g.sampling.min_p = float(args.get_double("--min-p", 0.05, 0.0, 1.0));
  g.sampling.repeat_penalty = float(args.get_double("--repeat-penalty", 1.0, 0.0, 100.0, true));
  seed_used = args.has("--seed") ? args.get_uint64("--seed", 0) : std::random_device{}();
  g.sampling.seed = seed_used;
  g.stop_at_end_of_generation = !args.has("--ignore-eos");
  return g;
}

std::vector<OptionSpec> load_option_specs() {
  return {{"--ctx", "", "N",
           "context size in tokens, at most " + std::to_string(kMaxContext) + " (0: the model's)",
           "the model's, at most 4096"},
          {"--device", "-d", "N", "Vulkan device index (see 'lagvk devices'; -1: the best)", "best"}};
}

LoadOptions load_options_from(const Args& args, const vk::InstanceOptions& vulkan) {
  LoadOptions o;
  o.instance = vulkan;
  o.device = int(args.get_int("--device", -1, -1, kMaxDeviceIndex));
  o.context = std::uint32_t(args.get_int("--ctx", 0, 0, kMaxContext));
  return o;
}

}  // namespace lagvk::cli
