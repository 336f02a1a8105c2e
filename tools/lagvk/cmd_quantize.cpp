// lagvk quantize: writes a quantized copy of an F32/F16/BF16 GGUF model, one type for every matrix or a
// K-quant mixture recipe as llama.cpp's llama-quantize makes it, with the error of each tensor.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/model/quantize.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/progress.hpp"

namespace lagvk::cli {
namespace {

using nlohmann::json;

/// The tensor with the largest relative RMSE, or nullptr when there are none.
const TensorQuantization* worst_tensor(const QuantizeSummary& s) {
  const TensorQuantization* worst = nullptr;
  for (const auto& t : s.tensors)
    if (!worst || t.relative_rmse > worst->relative_rmse) worst = &t;
  return worst;
}

/// Tensors per stored type, in the order types first appear.
std::vector<std::pair<std::string, std::size_t>> type_counts(const QuantizeSummary& s) {
  std::vector<std::pair<std::string, std::size_t>> counts;
  for (const auto& t : s.tensors) {
    const auto name = ggml_type_name(t.to);
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == name; });
    if (it == counts.end())
      counts.emplace_back(name, 1);
    else
      ++it->second;
  }
  return counts;
}

json summary_json(const std::string& input, const std::string& output, const QuantizeTarget& target,
                  const QuantizeSummary& s, double seconds) {
  json tensors = json::array();
  for (const auto& t : s.tensors)
    tensors.push_back({{"name", t.name},
                       {"shape", t.dims},
                       {"from", ggml_type_name(t.from)},
                       {"to", ggml_type_name(t.to)},
                       {"reason", t.reason},
                       {"bytes_in", t.bytes_in},
                       {"bytes_out", t.bytes_out},
                       {"relative_rmse", t.relative_rmse}});
  json types = json::object();
  for (const auto& [type, count] : type_counts(s)) types[type] = count;
  const auto* worst = worst_tensor(s);
  return {{"input", input},
          {"output", output},
          {"target", target.name},
          {"mixture", target.mixture},
          {"file_type", s.file_type},
          {"bytes_in", s.bytes_in},
          {"bytes_out", s.bytes_out},
          {"seconds", seconds},
          {"tensor_count", s.tensors.size()},
          {"types", types},
          {"max_relative_rmse", worst ? worst->relative_rmse : 0.0},
          {"max_relative_rmse_tensor", worst ? worst->name : ""},
          {"tensors", tensors}};
}

void print_table(const QuantizeSummary& s) {
  std::printf("%-36s %-18s %-6s %-6s %10s  %s\n", "tensor", "shape", "from", "to", "rel. RMSE", "why");
  for (const auto& t : s.tensors)
    std::printf("%-36s %-18s %-6s %-6s %10.6f  %s\n", t.name.c_str(),
                fmt::format("[{}]", fmt::join(t.dims, ", ")).c_str(), ggml_type_name(t.from).c_str(),
                ggml_type_name(t.to).c_str(), t.relative_rmse, t.reason.c_str());
}

void print_summary(const std::string& output, const QuantizeTarget& target, const QuantizeSummary& s,
                   double seconds) {
  std::vector<std::string> counts;
  for (const auto& [type, count] : type_counts(s)) counts.push_back(fmt::format("{} {}", count, type));
  std::printf("wrote %s: %s (general.file_type %u), %zu tensors (%s), %.1f MB -> %.1f MB in %.1f s\n",
              output.c_str(), target.name.c_str(), s.file_type, s.tensors.size(),
              fmt::format("{}", fmt::join(counts, ", ")).c_str(), double(s.bytes_in) / 1e6,
              double(s.bytes_out) / 1e6, seconds);
  if (const auto* worst = worst_tensor(s))
    std::printf(
        "quantization error (RMSE relative to the tensor's RMS): worst %.6f (%s); --verbose lists "
        "every tensor\n",
        worst->relative_rmse, worst->name.c_str());
}

}  // namespace

int cmd_quantize(int argc, char** argv) {
  Args args("quantize", "[options] IN.gguf OUT.gguf TYPE",
            "Writes a quantized copy of an F32, F16 or BF16 GGUF model: every metadata key (tokenizer,\n"
            "chat template, hyper-parameters) is kept and general.file_type updated; the output is\n"
            "written to OUT.tmp and renamed, so a failure leaves no partial OUT.\n"
            "TYPE (case-insensitive): the recipes q4_k_m, q5_k_m, q6_k and q8_0, or one type for every\n"
            "matrix: " +
                type_names(TypeList::writable_lower) + ".\n" + quantize_recipe_text() +
                "\nThe error of each tensor (RMSE of the stored values relative to the input's RMS) is\n"
                "reported: the worst one, every one with --verbose, and in --json (keys: input, output,\n"
                "target, mixture, file_type, bytes_in, bytes_out, seconds, tensor_count, types {TYPE:\n"
                "count}, max_relative_rmse, max_relative_rmse_tensor, tensors [{name, shape, from, to,\n"
                "reason, bytes_in, bytes_out, relative_rmse}]).\n"
                "example (after scripts/setup_real_models.sh):\n"
                "  lagvk quantize .cache/real_models/smollm2/SmolLM2-135M-Instruct.F16.gguf "
                "SMOLLM2_Q4_K_M.gguf q4_k_m",
            {
                {"--json", "", "", "print a JSON summary instead of text", ""},
                {"--verbose", "-v", "", "also print a table of every tensor: types and error", ""},
                {"--threads", "-t", "N", "threads that encode each tensor (the output is the same for any N)",
                 "all cores"},
                {"--allow-requantize", "", "",
                 "accept a quantized input (decoded, then encoded again: quality is lost twice)", ""},
            });
  if (!args.parse(argc, argv)) return 0;
  const auto& positional = args.positional();
  if (positional.size() != 3)
    fail("lagvk quantize: give IN.gguf OUT.gguf TYPE ({} argument(s) given; see 'lagvk quantize --help')",
         positional.size());
  const std::string& input = positional[0];
  const std::string& output = positional[1];
  const auto target = parse_quantize_target(positional[2]);
  if (!target) fail("lagvk quantize: unknown TYPE '{}' (use {})", positional[2], quantize_target_names());

  QuantizeOptions options;
  options.target = *target;
  options.allow_requantize = args.has("--allow-requantize");
  options.threads = unsigned(args.get_int("--threads", 0, 1, 1024));
  ProgressBar bar("quantizing", ProgressUnit::bytes());
  options.progress = [&bar](std::size_t done, std::size_t tensors, std::uint64_t bytes_done,
                            std::uint64_t bytes) {
    bar.set_label(fmt::format("quantizing {}/{} tensors", done, tensors));
    bar.update(bytes_done, bytes);
  };
  const auto started = std::chrono::steady_clock::now();
  const auto summary = quantize_model(input, output, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  bar.finish();

  if (args.has("--json")) {
    std::printf("%s\n", summary_json(input, output, *target, summary, seconds)
                            .dump(2, ' ', false, json::error_handler_t::replace)
                            .c_str());
    return 0;
  }
  if (args.has("--verbose")) print_table(summary);
  print_summary(output, *target, summary, seconds);
  return 0;
}

}  // namespace lagvk::cli
