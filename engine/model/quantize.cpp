#include "engine/model/quantize.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/quant.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;

// llama.cpp's file types of its K-quant mixtures (LLAMA_FTYPE_MOSTLY_Q4_K_M, _Q5_K_M), part of the
// format's general.file_type; the single types take theirs from weight_types.def.
constexpr std::uint32_t kFileTypeQ4KM = 15;
constexpr std::uint32_t kFileTypeQ5KM = 17;
// general.quantization_version: the version of ggml's block layouts, which llama.cpp writes into every
// file it quantizes (2 since the Q4_0/Q4_1/Q8_0 layouts changed in 2023).
constexpr std::uint32_t kQuantizationVersion = 2;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// ggml_n_dims: the dimensions up to the last one above 1 (a [576, 1] tensor is a vector).
std::size_t effective_dims(const std::vector<std::uint64_t>& dims) {
  std::size_t n = dims.size();
  while (n > 1 && dims[n - 1] == 1) --n;
  return n;
}

/// llama.cpp's choice of the attn_v and ffn_down layers that get more bits in its _M recipes: the first
/// and last eighth of the layers and every third layer between them.
bool uses_more_bits(int index, int count) {
  return index < count / 8 || index >= 7 * count / 8 || (index - count / 8) % 3 == 2;
}

/// The type llama.cpp falls back to when a matrix's rows are not a multiple of a 256-element type's
/// super-block: a 32-element type of about as many bits.
GgmlType fallback_for_short_rows(GgmlType type) {
  switch (type) {
    case GgmlType::q2_k:
    case GgmlType::q3_k:
    case GgmlType::iq4_xs:
      return GgmlType::iq4_nl;
    case GgmlType::q4_k:
      return GgmlType::q5_0;
    case GgmlType::q5_k:
      return GgmlType::q5_1;
    case GgmlType::q6_k:
      return GgmlType::q8_0;
    default:
      return GgmlType::f16;
  }
}

/// A matrix llama.cpp quantizes: a name ending in "weight", two or more dimensions, and not one of the
/// tensors it always copies (norms, the MoE router, position and token-type embeddings).
bool is_quantizable_matrix(const std::string& name, const std::vector<std::uint64_t>& dims) {
  if (!ends_with(name, "weight") || effective_dims(dims) < 2) return false;
  for (const char* kept : {"_norm.weight", "ffn_gate_inp.weight", "position_embd.weight",
                           "token_types.weight", "ssm_conv1d.weight"})
    if (contains(name, kept)) return false;
  return true;
}

/// The recipe's type before the row-length check: the mixtures' exceptions, else the base type.
TensorTypeChoice recipe_type(const QuantizeTarget& target, const std::string& name,
                             const TensorPosition& position) {
  const bool is_output =
      name == "output.weight" || (!position.model_has_output && name == "token_embd.weight");
  const auto recipe_base = TensorTypeChoice{target.base, ggml_type_name(target.base)};
  if (!target.mixture) return recipe_base;
  if (is_output) return {GgmlType::q6_k, "output matrix: Q6_K"};
  if (contains(name, "attn_v.weight") && uses_more_bits(position.attn_v_index, position.attn_v_count))
    return {GgmlType::q6_k, "attn_v of a first, last or every third layer: Q6_K"};
  if (contains(name, "ffn_down") && uses_more_bits(position.ffn_down_index, position.ffn_down_count))
    return {GgmlType::q6_k, "ffn_down of a first, last or every third layer: Q6_K"};
  if (contains(name, "attn_qkv.weight")) {
    const GgmlType more = target.base == GgmlType::q4_k ? GgmlType::q5_k : GgmlType::q6_k;
    return {more, fmt::format("fused attn_qkv: {}", ggml_type_name(more))};
  }
  return recipe_base;
}

}  // namespace

std::optional<QuantizeTarget> parse_quantize_target(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  if (lower == "q4_k_m") return QuantizeTarget{lower, GgmlType::q4_k, true, kFileTypeQ4KM};
  if (lower == "q5_k_m") return QuantizeTarget{lower, GgmlType::q5_k, true, kFileTypeQ5KM};
  const auto type = parse_ggml_type(lower);
  if (!type || !can_quantize(*type)) return std::nullopt;
  return QuantizeTarget{lower, *type, false, type_info(*type).llama_file_type};
}

std::string quantize_target_names() {
  return "the recipes q4_k_m, q5_k_m, q6_k, q8_0, or one type for every matrix: " +
         type_names(TypeList::writable_lower);
}

std::string quantize_recipe_text() {
  return "Recipes, as llama.cpp's llama-quantize chooses types per tensor:\n"
         "  q4_k_m / q5_k_m: matrices in Q4_K / Q5_K, except: the output matrix (token_embd when the\n"
         "    output is tied to it) in Q6_K; attn_v and ffn_down in Q6_K in the first and last eighth of\n"
         "    the layers and every third layer between them; a fused attn_qkv in Q5_K / Q6_K.\n"
         "    (llama.cpp's extra rules for 70B GQA models, MoE and falcon are not applied.)\n"
         "  q6_k, q8_0 and any single type: every matrix in that type.\n"
         "Every recipe: a matrix whose rows are not a multiple of its type's block falls back to a\n"
         "32-element type (Q2_K, Q3_K, IQ4_XS: IQ4_NL; Q4_K: Q5_0; Q5_K: Q5_1; Q6_K: Q8_0), else F16;\n"
         "vectors (norms, biases) are stored F32; position and token-type embeddings, norms and MoE\n"
         "routers keep their type.";
}

TensorTypeChoice choose_tensor_type(const QuantizeTarget& target, const std::string& name,
                                    const std::vector<std::uint64_t>& dims, GgmlType from,
                                    const TensorPosition& position) {
  if (effective_dims(dims) < 2) return {GgmlType::f32, "vector: F32"};
  if (!is_quantizable_matrix(name, dims)) return {from, "kept as it is (llama.cpp never quantizes it)"};
  TensorTypeChoice choice = recipe_type(target, name, position);
  const auto fits = [&](GgmlType type) { return dims[0] % type_info(type).block_size == 0; };
  if (fits(choice.type)) return choice;
  const GgmlType wanted = choice.type;
  choice.type = fallback_for_short_rows(wanted);
  if (!fits(choice.type)) choice.type = GgmlType::f16;
  choice.reason = fmt::format("rows of {} are not a multiple of {}'s {}: {}", dims[0], ggml_type_name(wanted),
                              type_info(wanted).block_size, ggml_type_name(choice.type));
  return choice;
}

double relative_rmse(std::span<const float> x, std::span<const float> y) {
  double error = 0.0, power = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = double(x[i]) - double(y[i]);
    error += d * d;
    power += double(x[i]) * double(x[i]);
  }
  if (power == 0.0) return error == 0.0 ? 0.0 : INFINITY;
  return std::sqrt(error / power);
}

namespace {

/// The checks that need no reading of the tensors: output is not the input, its directory exists.
void check_paths(const std::string& input, const std::string& output) {
  std::error_code ec;
  if (!fs::exists(input, ec)) fail(Errc::file_not_found, "the input model '{}' does not exist", input);
  if (fs::exists(output, ec) && fs::equivalent(input, output, ec))
    fail(Errc::invalid_argument,
         "the output '{}' is the input model itself; write the quantized model to another file", output);
  if (fs::is_directory(output, ec))
    fail(Errc::invalid_argument, "the output '{}' is a directory; give the quantized model's file name",
         output);
  const fs::path directory = fs::path(output).parent_path();
  if (!directory.empty() && !fs::is_directory(directory, ec))
    fail(Errc::file_not_found, "cannot write '{}': the directory '{}' does not exist", output,
         directory.string());
}

/// Fails unless every tensor is one lagvk decodes and, without allow_requantize, a float type.
void check_input_types(const GgufFile& file, bool allow_requantize) {
  if (!file.damage().empty()) fail(Errc::bad_model_file, "{}", file.damage());
  if (!file.foreign_tensors().empty()) {
    const auto& f = file.foreign_tensors().front();
    fail(Errc::unsupported_model,
         "'{}': tensor '{}' is {}, which lagvk cannot decode, so it cannot quantize this file; quantize the "
         "model's F16/BF16/F32 original instead",
         file.path(), f.name, ggml_type_name(f.type_id));
  }
  if (allow_requantize) return;
  for (const auto& t : file.tensors())
    if (is_quantized(t.type))
      fail(Errc::unsupported_model,
           "'{}' is already quantized (tensor '{}' is {}); quantize the model's F16/BF16/F32 original, or "
           "accept a second loss of quality by re-quantizing it",
           file.path(), t.name, ggml_type_name(t.type));
}

/// The block number of a "blk.N." tensor, -1 for the others (and for numbers too long to be one).
int layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  const auto end = name.find('.', 4);
  if (end == std::string::npos || end == 4 || end > 4 + 6 || name.find_first_not_of("0123456789", 4) != end)
    return -1;
  return std::stoi(name.substr(4, end - 4));
}

/// Every tensor's position among those the recipes count. llama.cpp counts them in the order it
/// quantizes them: by block number, then by name (so blk.2 before blk.10, whatever the file's order).
std::vector<TensorPosition> tensor_positions(const GgufFile& file) {
  const auto& tensors = file.tensors();
  std::vector<std::size_t> order(tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  TensorPosition totals;
  totals.model_has_output = file.find_tensor("output.weight") != nullptr;
  for (const auto& t : tensors) {
    if (contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight")) ++totals.attn_v_count;
    if (contains(t.name, "ffn_down")) ++totals.ffn_down_count;
  }
  std::vector<TensorPosition> positions(tensors.size(), totals);
  int attn_v = 0, ffn_down = 0;
  for (const std::size_t i : order) {
    positions[i].attn_v_index = attn_v;
    positions[i].ffn_down_index = ffn_down;
    if (contains(tensors[i].name, "attn_v.weight")) ++attn_v;
    if (contains(tensors[i].name, "ffn_down")) ++ffn_down;
  }
  return positions;
}

// Fewer rows than this per thread cost more to start than they save.
constexpr std::size_t kMinRowsPerThread = 16;

/// One range of rows' share of the error sums, or why it failed.
struct RowsResult {
  double error = 0.0, power = 0.0;
  std::exception_ptr failure;
};

/// Encodes `values` (rows of `row` elements) as `to`, each of up to `threads` threads taking a contiguous
/// range of rows (the encoders work row by row, so the bytes do not depend on the thread count), and
/// sets `relative` to the relative RMSE of what is stored.
std::vector<std::uint8_t> encode_rows(GgmlType to, std::span<const float> values, std::size_t row,
                                      unsigned threads, double& relative) {
  const std::size_t rows = values.size() / row, out_row = row_bytes(to, row);
  std::vector<std::uint8_t> out(rows * out_row);
  const std::size_t workers =
      std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(rows / kMinRowsPerThread, 1));
  std::vector<RowsResult> results(workers);
  auto work = [&](std::size_t w) {
    try {
      const std::size_t first = rows * w / workers, end = rows * (w + 1) / workers;
      const auto src = values.subspan(first * row, (end - first) * row);
      const auto dst = std::span(out).subspan(first * out_row, (end - first) * out_row);
      quantize_row(to, src, dst);
      std::vector<float> decoded(src.size());
      dequantize_row(to, dst, decoded);
      for (std::size_t i = 0; i < src.size(); ++i) {
        const double d = double(src[i]) - double(decoded[i]);
        results[w].error += d * d;
        results[w].power += double(src[i]) * double(src[i]);
      }
    } catch (...) {
      results[w].failure = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
    work(0);
  }  // joined
  double error = 0.0, power = 0.0;
  for (const auto& r : results) {
    if (r.failure) std::rethrow_exception(r.failure);
    error += r.error, power += r.power;
  }
  relative = power > 0.0 ? std::sqrt(error / power) : (error == 0.0 ? 0.0 : INFINITY);
  return out;
}

/// Encodes one tensor as `to` and measures the error of what is stored against the input's values.
std::vector<std::uint8_t> convert_tensor(const GgufFile& file, const GgufTensorInfo& t, GgmlType to,
                                         unsigned threads, TensorQuantization& record) {
  const auto stored = file.tensor_data(t);
  if (to == t.type) {  // nothing to encode: the same bytes, exactly the same values
    record.relative_rmse = 0.0;
    return {stored.begin(), stored.end()};
  }
  const auto values = dequantize(t.type, stored, std::size_t(t.n_elements));
  return encode_rows(to, values, std::size_t(t.dims[0]), threads, record.relative_rmse);
}

/// The input's metadata, in its order, with the file type (and the block-layout version) of the result.
void copy_metadata(const GgufFile& file, const QuantizeTarget& target, GgufWriter& writer) {
  for (const auto& [key, value] : file.metadata()) writer.set(key, value);
  writer.set_u32("general.file_type", target.file_type);
  if (is_quantized(target.base))
    writer.set_u32("general.quantization_version", kQuantizationVersion);
  else
    writer.erase("general.quantization_version");  // a float file has no quantized blocks
}

}  // namespace

QuantizeSummary quantize_model(const std::string& input, const std::string& output,
                               const QuantizeOptions& options) {
  check_paths(input, output);
  const auto file = GgufFile::open(input, GgufOpenMode::describe);
  check_input_types(file, options.allow_requantize);

  GgufWriter writer;
  copy_metadata(file, options.target, writer);
  QuantizeSummary summary;
  summary.file_type = options.target.file_type;
  summary.bytes_in = file.file_size();
  std::uint64_t total_bytes = 0, done_bytes = 0;
  for (const auto& t : file.tensors()) total_bytes += t.n_bytes;
  const auto positions = tensor_positions(file);
  const std::size_t count = file.tensors().size();
  const unsigned threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  // The types are chosen up front (they depend on names and shapes only), so the header can be written
  // first and each tensor encoded as the writer reaches it: one tensor in memory at a time.
  summary.tensors.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& t = file.tensors()[i];
    const auto choice = choose_tensor_type(options.target, t.name, t.dims, t.type, positions[i]);
    summary.tensors.push_back({t.name, t.dims, t.type, choice.type, choice.reason, t.n_bytes, 0, 0.0});
    writer.add_tensor_producer(t.name, t.dims, choice.type, [&, i] {
      auto& record = summary.tensors[i];
      auto data = convert_tensor(file, file.tensors()[i], record.to, threads, record);
      record.bytes_out = data.size();
      done_bytes += record.bytes_in;
      if (options.progress) options.progress(i + 1, count, done_bytes, total_bytes);
      return data;
    });
  }
  if (options.progress) options.progress(0, count, 0, total_bytes);
  writer.write(output);
  std::error_code ec;
  summary.bytes_out = fs::file_size(output, ec);
  return summary;
}

}  // namespace lagvk
