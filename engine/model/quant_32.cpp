#include "engine/model/quant_32.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/half.hpp"
#include "engine/model/quant_search.hpp"

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

/// The grid level whose value d * level is nearest to v.
unsigned nearest_level(float d, float v) {
  unsigned best = 0;
  float best_err = INFINITY;
  for (unsigned g = 0; g < kIq4nlGrid.size(); ++g) {
    const float err = std::fabs(d * float(kIq4nlGrid[g]) - v);
    if (err < best_err) {
      best_err = err;
      best = g;
    }
  }
  return best;
}

// IQ4_XS = {f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]} (136 bytes): sub-block ib (0..7) has the
// 6-bit scale ls = nibble ib % 2 of scales_l[ib / 2] | bits 2 ib, 2 ib + 1 of scales_h << 4, and
// x = (d * (ls - 32)) * grid[q]; its 32 quants are qs[16 ib .. 16 ib + 15] as in IQ4_NL.
constexpr std::size_t kIq4xsBytes = 136, kSuperBlock = 256;

}  // namespace

void dequantize_iq4_xs(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kSuperBlock; ++b) {
    const std::uint8_t* blk = &src[b * kIq4xsBytes];
    const float d = half_at(blk);
    const unsigned scales_h = unsigned(blk[2]) | (unsigned(blk[3]) << 8);
    for (std::size_t ib = 0; ib < 8; ++ib) {
      const unsigned low = (blk[4 + ib / 2] >> (4 * (ib % 2))) & 0x0Fu;
      const unsigned high = (scales_h >> (2 * ib)) & 3u;
      const float dl = d * float(int(low | (high << 4)) - 32);
      for (std::size_t e = 0; e < kBlock; ++e)
        y[b * kSuperBlock + kBlock * ib + e] = dl * float(kIq4nlGrid[nibble(blk + 8 + 16 * ib, e)]);
    }
  }
}

/// Each sub-block's own scale as IQ4_NL picks it (a least-squares search); d = the largest magnitude
/// over 31, and each sub-block takes the 6-bit scale (-32..31, stored as 0..63) nearest to its own or one
/// step either side, whichever decodes it best; every element then takes the nearest level.
void quantize_iq4_xs(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kSuperBlock; ++b) {
    const float* v = &x[b * kSuperBlock];
    float sub[8], max_sub = 0.0f;
    for (std::size_t ib = 0; ib < 8; ++ib) {
      sub[ib] = quant_search::fit_grid(x.subspan(b * kSuperBlock + kBlock * ib, kBlock), kIq4nlGrid);
      max_sub = std::max(max_sub, std::fabs(sub[ib]));
    }
    std::uint8_t* blk = &dst[b * kIq4xsBytes];
    std::memset(blk, 0, kIq4xsBytes);
    put_half(blk, max_sub / 31.0f);
    const float d = half_at(blk);
    unsigned scales_h = 0;
    for (std::size_t ib = 0; ib < 8; ++ib) {
      const auto part = x.subspan(b * kSuperBlock + kBlock * ib, kBlock);
      int l = 0;
      if (d > 0.0f) {
        const int l0 = std::clamp(int(std::lround(sub[ib] / d)), -32, 31);
        float best = INFINITY;
        for (int c = std::max(l0 - 1, -32); c <= std::min(l0 + 1, 31); ++c) {
          const float error = quant_search::grid_error(part, d * float(c), kIq4nlGrid);
          if (error < best) best = error, l = c;
        }
      }
      const auto ls = unsigned(l + 32);
      blk[4 + ib / 2] |= std::uint8_t((ls & 0x0Fu) << (4 * (ib % 2)));
      scales_h |= (ls >> 4) << (2 * ib);
      const float dl = d * float(l);
      unsigned q[kBlock];
      for (std::size_t e = 0; e < kBlock; ++e) q[e] = nearest_level(dl, v[kBlock * ib + e]);
      pack(q, blk + 8 + 16 * ib, nullptr);
    }
    blk[2] = std::uint8_t(scales_h & 0xFF);
    blk[3] = std::uint8_t(scales_h >> 8);
  }
}

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

/// d comes from a least-squares search over the grid (quant_search::fit_grid); every element then takes
/// the grid value nearest to it under the stored (fp16) d.
void quantize_iq4_nl(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kBlock; ++b) {
    const float* v = &x[b * kBlock];
    std::uint8_t* blk = &dst[b * kIq4nlBytes];
    put_half(blk, quant_search::fit_grid(x.subspan(b * kBlock, kBlock), kIq4nlGrid));
    const float d = half_at(blk);  // the stored scale, which decoding uses
    unsigned q[kBlock];
    for (std::size_t j = 0; j < kBlock; ++j) q[j] = nearest_level(d, v[j]);
    pack(q, blk + 2, nullptr);
  }
}

}  // namespace lagvk::quant32
