#pragma once
// Quantizes a whole GGUF model: every weight matrix of a float file (F32, F16, BF16) encoded with the
// encoders of engine/model/quant*.cpp, every other tensor and every metadata key (hyper-parameters,
// tokenizer, chat template) kept, general.file_type updated, and each tensor's quantization error
// measured. The recipes choose a type per tensor the way llama.cpp's llama-quantize does (a fact about
// its behaviour, documented at quantize_recipe_text()), so that a Q4_K_M file from lagvk holds the same
// types in the same places as one from llama.cpp.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/tensor_type.hpp"

namespace lagvk {

/// What `quantize` was asked for: one type for every matrix, or a K-quant mixture recipe.
struct QuantizeTarget {
  std::string name;         ///< as the user spells it, lower case: "q4_k_m", "q8_0", "iq4_xs"
  GgmlType base;            ///< the type of the matrices the recipe does not single out
  bool mixture = false;     ///< Q4_K_M / Q5_K_M: some tensors in more bits (see quantize_recipe_text)
  std::uint32_t file_type;  ///< general.file_type of the result (llama.cpp's LLAMA_FTYPE_MOSTLY_*)
};

/// Parses a type name (any type of weight_types.def, case-insensitive) or a recipe (q4_k_m, q5_k_m; q6_k
/// and q8_0 are both types and recipes, with the same result); nullopt for anything else.
[[nodiscard]] std::optional<QuantizeTarget> parse_quantize_target(std::string_view name);

/// "q4_k_m, q5_k_m, q6_k, q8_0, or one type: f32, f16, ...": what parse_quantize_target accepts.
[[nodiscard]] std::string quantize_target_names();

/// The recipes' rules in words, for help texts.
[[nodiscard]] std::string quantize_recipe_text();

/// The type one tensor gets, and why.
struct TensorTypeChoice {
  GgmlType type;
  std::string reason;  ///< "recipe type", "output: Q6_K", "rows of 576 are not a multiple of 256", ...
};

/// Where a tensor stands among the tensors the recipes count (llama.cpp counts them in file order).
struct TensorPosition {
  int attn_v_index = 0, attn_v_count = 0;  ///< among attn_v (and fused attn_qkv) tensors
  int ffn_down_index = 0, ffn_down_count = 0;
  bool model_has_output = true;  ///< false for tied embeddings: token_embd is then the output matrix
};

/// The type the recipe gives a tensor of this name and shape (dims[0] the row length) stored as `from`.
/// Matrices get the recipe's type (or a fallback when their rows do not fit its blocks); vectors
/// (norms, biases) become F32; embeddings that llama.cpp never quantizes keep their type.
[[nodiscard]] TensorTypeChoice choose_tensor_type(const QuantizeTarget& target, const std::string& name,
                                                  const std::vector<std::uint64_t>& dims, GgmlType from,
                                                  const TensorPosition& position);

/// sqrt(mean((x - y)^2)) / sqrt(mean(x^2)): the error of y as an approximation of x relative to x's
/// RMS; 0 when x is all zeros and y equals it.
[[nodiscard]] double relative_rmse(std::span<const float> x, std::span<const float> y);

/// What happened to one tensor.
struct TensorQuantization {
  std::string name;
  std::vector<std::uint64_t> dims;
  GgmlType from, to;
  std::string reason;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  double relative_rmse = 0.0;  ///< of the stored values against the input's (0 when copied exactly)
};

struct QuantizeOptions {
  QuantizeTarget target;
  /// Accept an input whose matrices are already quantized (decoded, then encoded again: quality is
  /// lost twice). Without it such an input is refused.
  bool allow_requantize = false;
  /// Threads that encode each tensor's rows; 0: one per hardware thread. The output does not depend on it.
  unsigned threads = 0;
  /// Called before the first tensor and after each: tensors done of all, input bytes done of all.
  std::function<void(std::size_t tensors_done, std::size_t tensors, std::uint64_t bytes_done,
                     std::uint64_t bytes)>
      progress;
};

struct QuantizeSummary {
  std::vector<TensorQuantization> tensors;    ///< in file order
  std::uint64_t bytes_in = 0, bytes_out = 0;  ///< file sizes
  std::uint32_t file_type = 0;
};

/// Reads `input`, quantizes it and writes `output` atomically (a temporary file renamed into place: a
/// failure leaves no partial output). Fails (Errc::file_not_found, bad_model_file, unsupported_model,
/// invalid_argument, io) with a message naming the file when the input is missing, unreadable, holds
/// types lagvk cannot decode, or is quantized (without allow_requantize), or when output is the input
/// or lies in a missing directory.
QuantizeSummary quantize_model(const std::string& input, const std::string& output,
                               const QuantizeOptions& options);

}  // namespace lagvk
