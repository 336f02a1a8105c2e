#pragma once
// What one `lagvk bench` run measures, from its options: the parts, the sizes of each (full, --quick or
// --tiny defaults, then -p/-n/-d/-r), the model. Bad values throw lagvk::Error (a usage error).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/ops/weight_format.hpp"
#include "tools/bench/kernel_speed.hpp"
#include "tools/bench/machine_limits.hpp"
#include "tools/bench/reference_model.hpp"

namespace lagvk::cli {

/// Every part, in the order a run measures them.
inline const std::vector<std::string> kBenchParts = {"roofs", "kernels", "model", "lag", "peer"};

enum class BenchMode { full, quick, tiny };

struct BenchPlan {
  BenchMode mode = BenchMode::full;
  std::set<std::string> parts;
  int device = -1;
  std::string model_path;  ///< -m; empty: the generated model of make_type
  std::string make_type = "f16";
  bench::ModelSize model_size = bench::ModelSize::reference;
  std::uint32_t prompt_tokens = 512, gen_tokens = 128;
  std::vector<std::uint32_t> depths = {0, 512, 2048};
  int reps = 2;
  bench::ProbeSizes probe;
  bench::KernelShape kernel_shape;
  std::vector<WeightFormat> formats;
  std::vector<std::uint32_t> lag_tokens = {64, 256}, lag_ks = {1, 3, 10};

  [[nodiscard]] bool has(const std::string& part) const { return parts.count(part) != 0; }
  /// Tokens of context the engine needs for the model and LAG parts.
  [[nodiscard]] std::uint32_t context_tokens() const;
};

/// The defaults of a mode; `parts_option` is --parts as given (empty: every part, but --quick and --tiny
/// leave the llama.cpp peer out unless it is named).
[[nodiscard]] BenchPlan default_plan(BenchMode mode, const std::string& parts_option);

/// "0,512,2048" as numbers; `option` names the flag in errors.
[[nodiscard]] std::vector<std::uint32_t> parse_uint_list(const std::string& option, const std::string& text,
                                                         std::uint32_t max);

[[nodiscard]] const char* mode_name(BenchMode mode);

}  // namespace lagvk::cli
