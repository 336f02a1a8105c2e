#pragma once
// ggml's 32-element block types beside Q8_0 and Q4_0: Q4_1, Q5_0, Q5_1 and IQ4_NL, and IQ4_XS (IQ4_NL's
// grid in 256-element super-blocks). Decoding is
// bit-identical to ggml (the same fp32 operations in the same order). Encoding follows ggml's reference
// quantizers for Q4_1, Q5_0 and Q5_1 (a scale from the block's range, round to nearest); IQ4_NL's and
// IQ4_XS's encoders search their scales by least squares (engine/model/quant_search.hpp), so their bytes
// differ from llama.cpp's while meaning what they say, with no larger an error.
#include <array>
#include <cstdint>
#include <span>

namespace lagvk::quant32 {

inline constexpr std::size_t kBlock = 32;

/// IQ4_NL's 16 non-uniform levels (x = d * kIq4nlGrid[q]); IQ4_XS uses the same grid.
inline constexpr std::array<std::int8_t, 16> kIq4nlGrid = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                           1,    13,   25,  38,  53,  69,  89,  113};

void dequantize_q4_1(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_q5_0(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_q5_1(std::span<const std::uint8_t> src, std::span<float> dst);
void dequantize_iq4_nl(std::span<const std::uint8_t> src, std::span<float> dst);

void quantize_q4_1(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_q5_0(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_q5_1(std::span<const float> src, std::span<std::uint8_t> dst);
void quantize_iq4_nl(std::span<const float> src, std::span<std::uint8_t> dst);

/// IQ4_XS: 256-element super-blocks of eight 32-element sub-blocks on IQ4_NL's grid, each with a 6-bit
/// scale. The encoder picks each sub-block's scale as IQ4_NL's does and rounds it to the super-block's.
void dequantize_iq4_xs(std::span<const std::uint8_t> src, std::span<float> dst);
void quantize_iq4_xs(std::span<const float> src, std::span<std::uint8_t> dst);

}  // namespace lagvk::quant32
