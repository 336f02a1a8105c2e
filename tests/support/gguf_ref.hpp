#pragma once
// An outside reference for ggml's tensor encodings and GGUF metadata: llama.cpp's gguf-py package (PyPI
// "gguf", pinned in tests/gguf_ref/requirements.txt, installed into tests/gguf_ref/venv by
// scripts/setup_gguf_ref.sh), run in a child process through tests/gguf_ref/gguf_ref.py. Tests that use
// it call LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason()) when gguf_ref_available() is false.
//
// Also here: "awkward" quantized blocks, built from the published block layouts (ggml's
// ggml-common.h structs, as documented in the GGUF spec), not from lagvk's encoder, so that decoders
// are exercised on bit patterns an encoder never writes.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/tensor_type.hpp"

namespace lagvk::test {

/// True when the venv's Python runs gguf_ref.py (checked once per process).
[[nodiscard]] bool gguf_ref_available();
/// Why gguf_ref_available() is false ("" when it is true).
[[nodiscard]] std::string gguf_ref_unavailable_reason();

/// gguf-py's decoding of whole blocks of `type` (gguf.quants.dequantize). Throws std::runtime_error
/// when the script fails.
[[nodiscard]] std::vector<float> gguf_ref_dequantize(GgmlType type, std::span<const std::uint8_t> blocks);

/// gguf-py's encoding of float values as `type` (gguf.quants.quantize: its ports of ggml's reference
/// quantizers). Throws std::runtime_error when the script fails (or gguf-py cannot encode the type).
[[nodiscard]] std::vector<std::uint8_t> gguf_ref_quantize(GgmlType type, std::span<const float> values);

/// gguf-py's traits of the type named `name` ("Q4_1"): ggml id, elements and bytes per block.
struct GgufRefTypeTraits {
  std::uint32_t id = 0;
  std::size_t block_elements = 0, block_bytes = 0;
};
[[nodiscard]] GgufRefTypeTraits gguf_ref_type_traits(std::string_view name);

/// A GGUF file as gguf-py reads it: metadata key-value pairs (tokenizer arrays left out), tensor
/// descriptions {name, type, shape (innermost first)} and every tensor decoded to floats.
struct GgufRefModel {
  nlohmann::json kv;
  nlohmann::json tensors;
  std::map<std::string, std::vector<float>> values;
};
[[nodiscard]] GgufRefModel gguf_ref_read_model(const std::filesystem::path& model);

/// `blocks` blocks of a quantized type (or 32 * blocks elements of a float type) with every field
/// random, scales kept finite: negative and positive scales and minimums, distinct 6-bit K-quant
/// sub-block scales and minimums with their packed high bits set, and (when `extreme_scales`) scales
/// at fp16's limits (65504, the smallest normal and a subnormal).
/// `scale_magnitude`: the typical |scale| (block scale, or float value for F32/F16/BF16).
[[nodiscard]] std::vector<std::uint8_t> awkward_blocks(GgmlType type, std::size_t blocks, std::uint64_t seed,
                                                       bool extreme_scales, float scale_magnitude = 0.05f);

/// Elements that awkward_blocks(type, blocks, ...) decodes to.
[[nodiscard]] std::size_t awkward_elements(GgmlType type, std::size_t blocks);

}  // namespace lagvk::test
