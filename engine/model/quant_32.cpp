#include "engine/model/quant_32.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/half.hpp"

namespace lagvk::quant32 {
namespace {

// Block layouts (bytes): Q4_1 = {f16 d, f16 m, u8 qs[16]} (20); Q5_0 = {f16 d, u8 qh[4], u8 qs[16]}
// (22); Q5_1 = {f16 d, f16 m, u8 qh[4], u8 qs[16]} (24); IQ4_NL = {f16 d, u8 qs[16]} (18). In all of
// them element j (0..15) is the low nibble of qs[j] and element j + 16 the high nibble; the 5-bit types
// take bit 4 of element e from bit e of qh (a little-endian u32).
constexpr std::size_t kQ4_1Bytes = 20, kQ5_0Bytes = 22, kQ5_1Bytes = 24, kIq4nlBytes = 18;

float half_at(const std::uint8_t* p) {
  half_bits h;
  std::memcpy(&h, p, 2);
  return half_to_float(h);
}

void put_half(std::uint8_t* p, float v) {
  const half_bits h = float_to_half(v);
  std::memcpy(p, &h, 2);
}

/// The 4-bit quant of element e (0..31) of a block's qs[16].
unsigned nibble(const std::uint8_t* qs, std::size_t e) {
  return e < 16 ? (qs[e] & 0x0Fu) : (qs[e - 16] >> 4);
}

/// The 5-bit quant of element e: its nibble plus bit e of qh.
unsigned five_bits(const std::uint8_t* qh, const std::uint8_t* qs, std::size_t e) {
  std::uint32_t high;
  std::memcpy(&high, qh, 4);
  return nibble(qs, e) | (((high >> e) & 1u) << 4);
}

/// Packs 32 quants of 4 or 5 bits into qs (and, when qh is given, their bit 4 into qh).
void pack(const unsigned (&q)[kBlock], std::uint8_t* qs, std::uint8_t* qh) {
  std::uint32_t high = 0;
  for (std::size_t j = 0; j < 16; ++j) qs[j] = std::uint8_t((q[j] & 0x0Fu) | ((q[j + 16] & 0x0Fu) << 4));
  for (std::size_t e = 0; e < kBlock; ++e) high |= ((q[e] >> 4) & 1u) << e;
  if (qh != nullptr) std::memcpy(qh, &high, 4);
}

/// x = d * q + m with q in [0, levels] and m the block's minimum: ggml's reference Q4_1/Q5_1 encoder.
void quantize_with_min(std::span<const float> x, std::span<std::uint8_t> dst, unsigned levels,
                       std::size_t block_bytes) {
  for (std::size_t b = 0; b < x.size() / kBlock; ++b) {
    const float* v = &x[b * kBlock];
    float lo = v[0], hi = v[0];
    for (std::size_t j = 1; j < kBlock; ++j) {
      lo = std::min(lo, v[j]);
      hi = std::max(hi, v[j]);
    }
    const float d = (hi - lo) / float(levels);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    unsigned q[kBlock];
    // (x - min) * id lies in [0, levels] up to rounding; truncating x + 0.5 rounds it as ggml does.
    for (std::size_t j = 0; j < kBlock; ++j)
      q[j] = std::min(levels, static_cast<unsigned>(std::max(0.0f, (v[j] - lo) * id + 0.5f)));
    std::uint8_t* blk = &dst[b * block_bytes];
    put_half(blk, d);
    put_half(blk + 2, lo);
    pack(q, blk + block_bytes - 16, levels > 15 ? blk + 4 : nullptr);
  }
}

}  // namespace

void dequantize_q4_1(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kBlock; ++b) {
    const std::uint8_t* blk = &src[b * kQ4_1Bytes];
    const float d = half_at(blk), m = half_at(blk + 2);
    for (std::size_t e = 0; e < kBlock; ++e) y[b * kBlock + e] = d * float(nibble(blk + 4, e)) + m;
  }
}

void dequantize_q5_0(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kBlock; ++b) {
    const std::uint8_t* blk = &src[b * kQ5_0Bytes];
    const float d = half_at(blk);
    for (std::size_t e = 0; e < kBlock; ++e)
      y[b * kBlock + e] = d * float(int(five_bits(blk + 2, blk + 6, e)) - 16);
  }
}

void dequantize_q5_1(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kBlock; ++b) {
    const std::uint8_t* blk = &src[b * kQ5_1Bytes];
    const float d = half_at(blk), m = half_at(blk + 2);
    for (std::size_t e = 0; e < kBlock; ++e)
      y[b * kBlock + e] = d * float(five_bits(blk + 4, blk + 8, e)) + m;
  }
}

void dequantize_iq4_nl(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kBlock; ++b) {
    const std::uint8_t* blk = &src[b * kIq4nlBytes];
    const float d = half_at(blk);
    for (std::size_t e = 0; e < kBlock; ++e) y[b * kBlock + e] = d * float(kIq4nlGrid[nibble(blk + 2, e)]);
  }
}

void quantize_q4_1(std::span<const float> src, std::span<std::uint8_t> dst) {
  quantize_with_min(src, dst, 15, kQ4_1Bytes);
}

void quantize_q5_1(std::span<const float> src, std::span<std::uint8_t> dst) {
  quantize_with_min(src, dst, 31, kQ5_1Bytes);
}

/// Like Q4_0 with 5 bits: the value of largest magnitude maps to -16 exactly, keeping its sign.
void quantize_q5_0(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kBlock; ++b) {
    const float* v = &x[b * kBlock];
    float amax = 0.0f, max = 0.0f;
    for (std::size_t j = 0; j < kBlock; ++j) {
      if (amax < std::fabs(v[j])) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    unsigned q[kBlock];
    // v * id + 16.5 lies in [0.5, 32.5]; truncation then clamping to 31 is ggml's rounding.
    for (std::size_t j = 0; j < kBlock; ++j)
      q[j] = std::min(31u, static_cast<unsigned>(std::clamp(v[j] * id + 16.5f, 0.0f, 32.9f)));
    std::uint8_t* blk = &dst[b * kQ5_0Bytes];
    put_half(blk, d);
    pack(q, blk + 6, blk + 2);
  }
}

/// d maps the value of largest magnitude to the grid's end on its side (-127 or 113); every element
/// then takes the nearest grid value.
void quantize_iq4_nl(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kBlock; ++b) {
    const float* v = &x[b * kBlock];
    float amax = 0.0f, max = 0.0f;
    for (std::size_t j = 0; j < kBlock; ++j) {
      if (amax < std::fabs(v[j])) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    std::uint8_t* blk = &dst[b * kIq4nlBytes];
    put_half(blk, max < 0.0f ? max / float(kIq4nlGrid.front()) : max / float(kIq4nlGrid.back()));
    const float d = half_at(blk);  // the stored scale, which decoding uses
    unsigned q[kBlock];
    for (std::size_t j = 0; j < kBlock; ++j) {
      unsigned best = 0;
      float best_err = INFINITY;
      for (unsigned g = 0; g < kIq4nlGrid.size(); ++g) {
        const float err = std::fabs(d * float(kIq4nlGrid[g]) - v[j]);
        if (err < best_err) {
          best_err = err;
          best = g;
        }
      }
      q[j] = best;
    }
    pack(q, blk + 2, nullptr);
  }
}

}  // namespace lagvk::quant32
