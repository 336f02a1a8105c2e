#pragma once
// Flags shared by the commands that load a model and generate (run, ask): declared once so that --help
// and parsing agree everywhere.
#include <cstdint>
#include <vector>

#include "engine/api/engine.hpp"
#include "tools/lagvk/args.hpp"

namespace lagvk::cli {

/// Bounds of the numeric flags that more than one command shares (checked by Args' typed getters).
inline constexpr std::int64_t kMaxTokens = 1 << 24;       ///< -n, --max-step-tokens and the like
inline constexpr std::int64_t kMaxContext = 1 << 24;      ///< --ctx
inline constexpr std::int64_t kMaxDeviceIndex = 1 << 16;  ///< --device
inline constexpr std::int64_t kMaxCount = 1 << 24;        ///< -k, --max-logs, --limit, step limits

/// -n, --temp, --top-k, --top-p, --min-p, --repeat-penalty, --seed, --ignore-eos, their --help showing
/// `defaults`: the command's own (the library's GenerateOptions unless the command differs, as ask does).
[[nodiscard]] std::vector<OptionSpec> generation_options(const GenerateOptions& defaults = {});
/// Reads them, starting from the same `defaults` their --help showed; seed_used receives the seed (random
/// unless --seed was given).
[[nodiscard]] GenerateOptions generation_from(const Args& args, std::uint64_t& seed_used,
                                              const GenerateOptions& defaults = {});
/// --ctx and --device.
[[nodiscard]] std::vector<OptionSpec> load_option_specs();
/// Reads them; the engine's Vulkan instance gets `vulkan` (validation and its log).
[[nodiscard]] LoadOptions load_options_from(const Args& args, const vk::InstanceOptions& vulkan);

}  // namespace lagvk::cli
