#include "tools/lagvk/bench_plan.hpp"

#include <algorithm>
#include <sstream>

#include "engine/core/error.hpp"

namespace lagvk::cli {

namespace {

std::set<std::string> parse_parts(const std::string& text, BenchMode mode) {
  std::set<std::string> parts;
  if (text.empty()) {
    parts.insert(kBenchParts.begin(), kBenchParts.end());
    // The peer's Vulkan backend compiles its pipelines for tens of seconds on lavapipe: too slow for a
    // quick look; named in --parts it runs.
    if (mode != BenchMode::full) parts.erase("peer");
    return parts;
  }
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (std::find(kBenchParts.begin(), kBenchParts.end(), part) == kBenchParts.end())
      fail("lagvk bench: unknown part '{}' in --parts (roofs, kernels, model, lag, peer)", part);
    parts.insert(part);
  }
  if (parts.empty()) fail("lagvk bench: --parts names no part (roofs, kernels, model, lag, peer)");
  return parts;
}

}  // namespace

const char* mode_name(BenchMode mode) {
  return mode == BenchMode::full ? "full" : mode == BenchMode::quick ? "quick" : "tiny";
}

std::vector<std::uint32_t> parse_uint_list(const std::string& option, const std::string& text,
                                           std::uint32_t max) {
  std::vector<std::uint32_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const bool digits = !item.empty() && item.size() <= 9 &&
                        std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(item) > max)
      fail("lagvk bench: {} expects comma-separated integers from 0 to {}, got '{}'", option, max, text);
    out.push_back(std::uint32_t(std::stoul(item)));
  }
  if (out.empty() || text.back() == ',')
    fail("lagvk bench: {} expects comma-separated integers from 0 to {}, got '{}'", option, max, text);
  return out;
}

BenchPlan default_plan(BenchMode mode, const std::string& parts_option) {
  BenchPlan p;
  p.mode = mode;
  p.parts = parse_parts(parts_option, mode);
  p.formats = bench::gpu_weight_formats();
  if (mode == BenchMode::quick) {
    p.model_size = bench::ModelSize::small;
    p.prompt_tokens = 64, p.gen_tokens = 16, p.depths = {0, 256}, p.reps = 1;
    p.probe = {std::uint64_t(64) << 20, 512};
    p.kernel_shape = {2048, 2048, 64, 5, 1};
    p.formats = {WeightFormat::f16, WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_k};
    p.lag_tokens = {64}, p.lag_ks = {1, 3};
  } else if (mode == BenchMode::tiny) {
    p.model_size = bench::ModelSize::tiny;
    p.prompt_tokens = 16, p.gen_tokens = 4, p.depths = {0, 16}, p.reps = 1;
    p.probe = {std::uint64_t(8) << 20, 16};
    p.kernel_shape = {256, 256, 16, 2, 1};
    p.formats = {WeightFormat::f16, WeightFormat::q4_0};
    p.lag_tokens = {16}, p.lag_ks = {1};
  }
  return p;
}

std::uint32_t BenchPlan::context_tokens() const {
  constexpr std::uint32_t kPage = 16, kQuestion = 64;
  const std::uint32_t deepest = depths.empty() ? 0 : *std::max_element(depths.begin(), depths.end());
  std::uint32_t need = kPage;
  if (has("model")) need = std::max(need, deepest + std::max(prompt_tokens, gen_tokens));
  if (has("lag")) {
    // Each spliced log starts on a page boundary.
    const std::uint32_t tokens =
        lag_tokens.empty() ? 0 : *std::max_element(lag_tokens.begin(), lag_tokens.end());
    const std::uint32_t k = lag_ks.empty() ? 0 : *std::max_element(lag_ks.begin(), lag_ks.end());
    need = std::max(need, k * ((tokens + kPage - 1) / kPage * kPage) + kQuestion);
  }
  return (need + kPage - 1) / kPage * kPage + kPage;
}

}  // namespace lagvk::cli
