#pragma once
// ggml's K-quants: 256-element super-blocks split into sub-blocks with their own quantized scales.
// Decoding is bit-identical to ggml. Encoding writes valid blocks of the same layout with scales from a
// least-squares search (engine/model/quant_search.hpp), not llama-quantize's own, so its bytes differ
// from llama.cpp's for the same floats while meaning what they say, with no larger an error.
#include <cstdint>
#include <span>

namespace lagvk::kquant {

inline constexpr std::size_t kSuperBlock = 256;

void dequantize_q2_k(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_q3_k(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_q4_k(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_q5_k(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_q6_k(std::span<const std::uint8_t> src, std::span<float> dst);

void quantize_q2_k(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_q3_k(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_q4_k(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_q5_k(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_q6_k(std::span<const float> src, std::span<std::uint8_t> dst);

}  // namespace lagvk::kquant
