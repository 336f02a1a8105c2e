#include "tools/lagvk/generation_flags.hpp"

#include <limits>
#include <random>

#include <fmt/format.h>

#include "engine/core/error.hpp"

namespace lagvk::cli {

std::vector<OptionSpec> generation_options(const GenerateOptions& defaults) {
  const SamplerParams& d = defaults.sampling;
  return {
      {"--n-predict", "-n", "N", "tokens to generate", std::to_string(defaults.max_tokens)},
      {"--temp", "", "T", "sampling temperature; 0 = greedy", fmt::format("{}", d.temperature)},
      {"--top-k", "", "K", "keep the K most likely tokens; 0 = off", std::to_string(d.top_k)},
      {"--top-p", "", "P", "keep the smallest set with probability >= P; 1 = off",
       fmt::format("{}", d.top_p)},
      {"--min-p", "", "P", "drop tokens below P x the top probability; 0 = off", fmt::format("{}", d.min_p)},
      {"--repeat-penalty", "", "R", fmt::format("penalise the last {} tokens; 1 = off", d.repeat_last_n),
       fmt::format("{}", d.repeat_penalty)},
      {"--seed", "", "S", "random seed (same seed, same output)", "random"},
      {"--ignore-eos", "", "", "keep generating past end-of-generation tokens", ""}};
}

GenerateOptions generation_from(const Args& args, std::uint64_t& seed_used, const GenerateOptions& defaults) {
  GenerateOptions g = defaults;
  SamplerParams& s = g.sampling;
  g.max_tokens = std::uint32_t(args.get_int("--n-predict", defaults.max_tokens, 0, kMaxTokens));
  s.temperature = float(args.get_double("--temp", s.temperature, 0.0, 100.0));
  s.top_k = std::int32_t(args.get_int("--top-k", s.top_k, 0, std::numeric_limits<std::int32_t>::max()));
  s.top_p = float(args.get_double("--top-p", s.top_p, 0.0, 1.0, true));
  s.min_p = float(args.get_double("--min-p", s.min_p, 0.0, 1.0));
  s.repeat_penalty = float(args.get_double("--repeat-penalty", s.repeat_penalty, 0.0, 100.0, true));
  seed_used = args.has("--seed") ? args.get_uint64("--seed", 0) : std::random_device{}();
  s.seed = seed_used;
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
