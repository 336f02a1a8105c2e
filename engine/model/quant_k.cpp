#include "engine/model/quant_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/half.hpp"
#include "engine/model/quant_search.hpp"

namespace lagvk::kquant {
namespace {

// Decoding does its arithmetic in ggml's order (scale products in float first), so results are
// bit-identical to ggml's.

/// 6-bit scale and min of sub-block j (0..7), packed into 12 bytes: for j < 4 the low 6 bits of bytes
/// j and j + 4; for j >= 4 a nibble of byte j + 4 plus the top 2 bits of bytes j - 4 and j.
void k_scale_min(std::size_t j, const std::uint8_t* s, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

/// Q4_K = {f16 d, f16 dmin, u8 scales[12], u8 qs[128]}: sub-block j's element l (0..31) is a nibble of
/// qs[32 * (j / 2) + l], low for even j; x = d * scale_j * q - dmin * min_j. Q5_K = {d, dmin,
/// scales[12], u8 qh[32], qs[128]} adds 16 when bit j of qh[l] is set.
void dequantize_q4_q5_k_impl(std::span<const std::uint8_t> src, std::span<float> y, bool five_bit) {
  const std::size_t block_bytes = five_bit ? 176 : 144;
  for (std::size_t b = 0; b < y.size() / kSuperBlock; ++b) {
    const std::uint8_t* blk = &src[b * block_bytes];
    half_bits dh, mh;
    std::memcpy(&dh, blk, 2);
    std::memcpy(&mh, blk + 2, 2);
    const float d = half_to_float(dh), dmin = half_to_float(mh);
    const std::uint8_t* scales = blk + 4;
    const std::uint8_t* qh = blk + 16;
    const std::uint8_t* qs = blk + (five_bit ? 48 : 16);
    float* out = &y[b * kSuperBlock];
    for (std::size_t j = 0; j < 8; ++j) {
      int sc = 0, m = 0;
      k_scale_min(j, scales, sc, m);
      const float dj = d * float(sc), mj = dmin * float(m);
      for (std::size_t l = 0; l < 32; ++l) {
        const std::uint8_t byte = qs[32 * (j / 2) + l];
        int q = (j % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
        if (five_bit && (qh[l] >> j) & 1) q += 16;
        out[32 * j + l] = dj * float(q) - mj;
      }
    }
  }
}

/// Q6_K = {u8 ql[128], u8 qh[64], i8 scales[16], f16 d}. Each 128-element half h uses ql[64h..],
/// qh[32h..], scales[8h..]; its element 32k + l (k = 0..3, l = 0..31) takes 4 low bits from
/// ql[l + 32 (k % 2)] (low nibble for k < 2) and 2 high bits from qh[l] >> 2k; q = bits - 32 and
/// x = d * scales[l / 16 + 2k] * q.
void dequantize_q6_k_impl(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kSuperBlock; ++b) {
    const std::uint8_t* blk = &src[b * 210];
    half_bits dh;
    std::memcpy(&dh, blk + 208, 2);
    const float d = half_to_float(dh);
    for (std::size_t h = 0; h < 2; ++h) {
      const std::uint8_t* ql = blk + 64 * h;
      const std::uint8_t* qh = blk + 128 + 32 * h;
      const auto* sc = reinterpret_cast<const std::int8_t*>(blk + 192 + 8 * h);
      for (std::size_t k = 0; k < 4; ++k) {
        for (std::size_t l = 0; l < 32; ++l) {
          const std::uint8_t low_byte = ql[l + 32 * (k % 2)];
          const int low = k < 2 ? (low_byte & 0x0F) : (low_byte >> 4);
          const int high = (qh[l] >> (2 * k)) & 3;
          const int q = (low | (high << 4)) - 32;
          y[b * kSuperBlock + 128 * h + 32 * k + l] = d * float(sc[l / 16 + 2 * k]) * float(q);
        }
      }
    }
  }
}

/// Inverse of k_scale_min: packs eight 6-bit scales and mins into 12 bytes.
void pack_scale_min(const int (&scale)[8], const int (&min)[8], std::uint8_t* s) {
  std::memset(s, 0, 12);
  for (std::size_t j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] |= std::uint8_t(scale[j]);
      s[j + 4] |= std::uint8_t(min[j]);
    } else {
      s[j + 4] = std::uint8_t((scale[j] & 0x0F) | ((min[j] & 0x0F) << 4));
      s[j - 4] |= std::uint8_t((scale[j] >> 4) << 6);
      s[j] |= std::uint8_t((min[j] >> 4) << 6);
    }
  }
}

int round_clamp(float v, int lo, int hi) {
  return std::clamp(int(std::lround(v)), lo, hi);
}

/// The 6-bit (or 4-bit) sub-block scale and min nearest to a fitted pair, or one step either side,
/// whichever decodes the sub-block with the smallest squared error under the stored d and dmin.
void best_scale_min(std::span<const float> x, quant_search::ScaleMin fit, float d, float dmin, int levels,
                    int top, int& sc, int& m) {
  const int sc0 = d > 0.0f ? round_clamp(fit.scale / d, 0, top) : 0;
  const int m0 = dmin > 0.0f ? round_clamp(fit.min / dmin, 0, top) : 0;
  float best = INFINITY;
  for (int s = std::max(sc0 - 1, 0); s <= std::min(sc0 + 1, top); ++s)
    for (int mm = std::max(m0 - 1, 0); mm <= std::min(m0 + 1, top); ++mm) {
      const float error = quant_search::scale_min_error(x, d * float(s), dmin * float(mm), levels);
      if (error < best) best = error, sc = s, m = mm;
    }
}

/// x = d * scale_j * q - dmin * min_j with q in [0, levels]: each sub-block's scale and min come from
/// a least-squares search (quant_search::fit_scale_min); d and dmin are the largest over 63, and each
/// sub-block then takes the 6-bit pair that decodes it best.
void quantize_q4_q5_k_impl(std::span<const float> x, std::span<std::uint8_t> dst, bool five_bit) {
  const std::size_t block_bytes = five_bit ? 176 : 144;
  const int levels = five_bit ? 31 : 15;
  for (std::size_t b = 0; b < x.size() / kSuperBlock; ++b) {
    const std::span<const float> v = x.subspan(b * kSuperBlock, kSuperBlock);
    quant_search::ScaleMin fit[8];
    float max_scale = 0.0f, max_min = 0.0f;
    for (std::size_t j = 0; j < 8; ++j) {
      fit[j] = quant_search::fit_scale_min(v.subspan(32 * j, 32), levels);
      max_scale = std::max(max_scale, fit[j].scale);
      max_min = std::max(max_min, fit[j].min);
    }
    std::uint8_t* blk = &dst[b * block_bytes];
    std::memset(blk, 0, block_bytes);
    const half_bits dh = float_to_half(max_scale / 63.0f), mh = float_to_half(max_min / 63.0f);
    std::memcpy(blk, &dh, 2);
    std::memcpy(blk + 2, &mh, 2);
    // Sub-block scales are chosen against the stored (fp16) super-block scales, which decoding uses.
    const float d = half_to_float(dh), dmin = half_to_float(mh);
    int sc[8], m[8];
    for (std::size_t j = 0; j < 8; ++j)
      best_scale_min(v.subspan(32 * j, 32), fit[j], d, dmin, levels, 63, sc[j], m[j]);
    pack_scale_min(sc, m, blk + 4);
    std::uint8_t* qh = blk + 16;
    std::uint8_t* qs = blk + (five_bit ? 48 : 16);
    for (std::size_t j = 0; j < 8; ++j) {
      const float dj = d * float(sc[j]), mj = dmin * float(m[j]);
      for (std::size_t l = 0; l < 32; ++l) {
        const int q = dj > 0.0f ? round_clamp((v[32 * j + l] + mj) / dj, 0, levels) : 0;
        qs[32 * (j / 2) + l] |= std::uint8_t((j % 2 == 0) ? (q & 0x0F) : ((q & 0x0F) << 4));
        if (q & 16) qh[l] |= std::uint8_t(1u << j);
      }
    }
  }
}

/// The signed sub-block scale nearest to a fitted one, or one step either side, whichever decodes the
/// sub-block with the smallest squared error under the stored d.
int best_signed_scale(std::span<const float> x, float fit, float d, int lo, int hi, int qmin, int qmax) {
  if (d == 0.0f) return 0;
  const int s0 = round_clamp(fit / d, lo, hi);
  int best_scale = s0;
  float best = INFINITY;
  for (int s = std::max(s0 - 1, lo); s <= std::min(s0 + 1, hi); ++s) {
    const float error = quant_search::symmetric_error(x, d * float(s), qmin, qmax);
    if (error < best) best = error, best_scale = s;
  }
  return best_scale;
}

/// Q2_K = {u8 scales[16], u8 qs[64], f16 d, f16 dmin} (84 bytes): sixteen 16-element sub-blocks with
/// a 4-bit scale (low nibble of scales[s]) and min (high nibble). Element 128 n + 32 j + 16 h + l
/// (n = 0..1, j = 0..3, h = 0..1, l = 0..15) is sub-block s = 8 n + 2 j + h, its 2 bits are bits 2j of
/// qs[32 n + 16 h + l], and x = (d * scale_s) * q - dmin * min_s.
constexpr std::size_t kQ2KBytes = 84;

std::size_t q2_k_sub_block(std::size_t e) {
  return 8 * (e / 128) + 2 * ((e % 128) / 32) + (e % 32) / 16;
}
std::size_t q2_k_byte(std::size_t e) {
  return 32 * (e / 128) + 16 * ((e % 32) / 16) + e % 16;
}
unsigned q2_k_shift(std::size_t e) {
  return unsigned(2 * ((e % 128) / 32));
}

/// Q3_K = {u8 hmask[32], u8 qs[64], u8 scales[12], f16 d} (110 bytes). Elements and sub-blocks are
/// numbered as in Q2_K (the 2 low bits at bit 2j of qs[32 n + 16 h + l]); the third bit is bit 4 n + j
/// of hmask[16 h + l], and a clear bit subtracts 4. Sub-block s has a 6-bit scale: its low nibble is
/// nibble s / 8 of scales[s % 8], its top 2 bits are bits 2 (s / 4) of scales[8 + s % 4];
/// x = (d * (scale - 32)) * q.
constexpr std::size_t kQ3KBytes = 110;

int q3_k_scale(const std::uint8_t* scales, std::size_t s) {
  const int low = (scales[s % 8] >> (4 * (s / 8))) & 0x0F;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return low | (high << 4);
}
std::size_t q3_k_mask_byte(std::size_t e) {
  return 16 * ((e % 32) / 16) + e % 16;
}
unsigned q3_k_mask_bit(std::size_t e) {
  return unsigned(4 * (e / 128) + (e % 128) / 32);
}

}  // namespace

void dequantize_q3_k(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kSuperBlock; ++b) {
    const std::uint8_t* blk = &src[b * kQ3KBytes];
    half_bits dh;
    std::memcpy(&dh, blk + 108, 2);
    const float d = half_to_float(dh);
    for (std::size_t e = 0; e < kSuperBlock; ++e) {
      const float dl = d * float(q3_k_scale(blk + 96, q2_k_sub_block(e)) - 32);
      const int low = (blk[32 + q2_k_byte(e)] >> q2_k_shift(e)) & 3;
      const bool high = (blk[q3_k_mask_byte(e)] >> q3_k_mask_bit(e)) & 1;
      y[b * kSuperBlock + e] = dl * float(low - (high ? 0 : 4));
    }
  }
}

/// Like Q6_K's encoder with 3 bits: each 16-element sub-block's scale comes from a least-squares
/// search over q in -4..3 (quant_search::fit_symmetric); the 6-bit scales (-32..31) share d = largest
/// |scale| / 31, each sub-block taking the one that decodes it best.
void quantize_q3_k(std::span<const float> x, std::span<std::uint8_t> dst) {
  auto sub_block = [](std::span<const float> v, std::size_t s) {
    return v.subspan(128 * (s / 8) + 32 * ((s % 8) / 2) + 16 * (s % 2), 16);
  };
  for (std::size_t b = 0; b < x.size() / kSuperBlock; ++b) {
    const std::span<const float> v = x.subspan(b * kSuperBlock, kSuperBlock);
    float scale[16], max_abs = 0.0f;
    for (std::size_t s = 0; s < 16; ++s) {
      scale[s] = quant_search::fit_symmetric(sub_block(v, s), -4, 3);
      max_abs = std::max(max_abs, std::fabs(scale[s]));
    }
    std::uint8_t* blk = &dst[b * kQ3KBytes];
    std::memset(blk, 0, kQ3KBytes);
    const half_bits dh = float_to_half(max_abs / 31.0f);
    std::memcpy(blk + 108, &dh, 2);
    const float d = half_to_float(dh);
    std::uint8_t* scales = blk + 96;
    int sc[16];
    for (std::size_t s = 0; s < 16; ++s) {
      sc[s] = best_signed_scale(sub_block(v, s), scale[s], d, -32, 31, -4, 3);
      const auto u = unsigned(sc[s] + 32);  // 0..63
      scales[s % 8] |= std::uint8_t((u & 0x0F) << (4 * (s / 8)));
      scales[8 + s % 4] |= std::uint8_t((u >> 4) << (2 * (s / 4)));
    }
    for (std::size_t e = 0; e < kSuperBlock; ++e) {
      const float dl = d * float(sc[q2_k_sub_block(e)]);
      const int q = dl != 0.0f ? round_clamp(v[e] / dl, -4, 3) : 0;
      const auto u = unsigned(q + 4);  // 0..7: bit 2 set means "do not subtract 4"
      blk[32 + q2_k_byte(e)] |= std::uint8_t((u & 3) << q2_k_shift(e));
      if (u & 4) blk[q3_k_mask_byte(e)] |= std::uint8_t(1u << q3_k_mask_bit(e));
    }
  }
}

void dequantize_q2_k(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kSuperBlock; ++b) {
    const std::uint8_t* blk = &src[b * kQ2KBytes];
    half_bits dh, mh;
    std::memcpy(&dh, blk + 80, 2);
    std::memcpy(&mh, blk + 82, 2);
    const float d = half_to_float(dh), dmin = half_to_float(mh);
    for (std::size_t e = 0; e < kSuperBlock; ++e) {
      const std::uint8_t sc = blk[q2_k_sub_block(e)];
      const float dl = d * float(sc & 0x0F), ml = dmin * float(sc >> 4);
      const int q = (blk[16 + q2_k_byte(e)] >> q2_k_shift(e)) & 3;
      y[b * kSuperBlock + e] = dl * float(q) - ml;
    }
  }
}

/// Each 16-element sub-block's scale and min come from a least-squares search with levels 0..3; d and
/// dmin are the largest over 15 (4-bit sub-block scales), each sub-block taking the pair that decodes
/// it best.
void quantize_q2_k(std::span<const float> x, std::span<std::uint8_t> dst) {
  auto sub_block = [](std::span<const float> v, std::size_t s) {
    return v.subspan(128 * (s / 8) + 32 * ((s % 8) / 2) + 16 * (s % 2), 16);
  };
  for (std::size_t b = 0; b < x.size() / kSuperBlock; ++b) {
    const std::span<const float> v = x.subspan(b * kSuperBlock, kSuperBlock);
    quant_search::ScaleMin fit[16];
    float max_scale = 0.0f, max_min = 0.0f;
    for (std::size_t s = 0; s < 16; ++s) {
      fit[s] = quant_search::fit_scale_min(sub_block(v, s), 3);
      max_scale = std::max(max_scale, fit[s].scale);
      max_min = std::max(max_min, fit[s].min);
    }
    std::uint8_t* blk = &dst[b * kQ2KBytes];
    std::memset(blk, 0, kQ2KBytes);
    const half_bits dh = float_to_half(max_scale / 15.0f), mh = float_to_half(max_min / 15.0f);
    std::memcpy(blk + 80, &dh, 2);
    std::memcpy(blk + 82, &mh, 2);
    const float d = half_to_float(dh), dmin = half_to_float(mh);
    for (std::size_t s = 0; s < 16; ++s) {
      int sc = 0, m = 0;
      best_scale_min(sub_block(v, s), fit[s], d, dmin, 3, 15, sc, m);
      blk[s] = std::uint8_t(sc | (m << 4));
    }
    for (std::size_t e = 0; e < kSuperBlock; ++e) {
      const std::uint8_t sc = blk[q2_k_sub_block(e)];
      const float dl = d * float(sc & 0x0F), ml = dmin * float(sc >> 4);
      const int q = dl > 0.0f ? round_clamp((v[e] + ml) / dl, 0, 3) : 0;
      blk[16 + q2_k_byte(e)] |= std::uint8_t(q << q2_k_shift(e));
    }
  }
}

void dequantize_q4_k(std::span<const std::uint8_t> src, std::span<float> dst) {
  dequantize_q4_q5_k_impl(src, dst, false);
}
void dequantize_q5_k(std::span<const std::uint8_t> src, std::span<float> dst) {
  dequantize_q4_q5_k_impl(src, dst, true);
}
void dequantize_q6_k(std::span<const std::uint8_t> src, std::span<float> dst) {
  dequantize_q6_k_impl(src, dst);
}
void quantize_q4_k(std::span<const float> src, std::span<std::uint8_t> dst) {
  quantize_q4_q5_k_impl(src, dst, false);
}
void quantize_q5_k(std::span<const float> src, std::span<std::uint8_t> dst) {
  quantize_q4_q5_k_impl(src, dst, true);
}

/// Sixteen sub-blocks of 16 elements (sub-block s = elements 16s..16s+15, whose scale is scales[s]);
/// each sub-block's scale comes from a least-squares search over q in -32..31, and the int8 scales
/// share d = largest |scale| / 127, each sub-block taking the one that decodes it best.
void quantize_q6_k(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kSuperBlock; ++b) {
    const std::span<const float> v = x.subspan(b * kSuperBlock, kSuperBlock);
    float scale[16], max_abs = 0.0f;
    for (std::size_t s = 0; s < 16; ++s) {
      scale[s] = quant_search::fit_symmetric(v.subspan(16 * s, 16), -32, 31);
      max_abs = std::max(max_abs, std::fabs(scale[s]));
    }
    std::uint8_t* blk = &dst[b * 210];
    std::memset(blk, 0, 210);
    const half_bits dh = float_to_half(max_abs / 127.0f);
    std::memcpy(blk + 208, &dh, 2);
    const float d = half_to_float(dh);
    auto* sc = reinterpret_cast<std::int8_t*>(blk + 192);
    for (std::size_t s = 0; s < 16; ++s)
      sc[s] = std::int8_t(best_signed_scale(v.subspan(16 * s, 16), scale[s], d, -128, 127, -32, 31));
    for (std::size_t e = 0; e < kSuperBlock; ++e) {
      const float ds = d * float(sc[e / 16]);
      const int q = ds != 0.0f ? round_clamp(v[e] / ds, -32, 31) : 0;
      const auto u = unsigned(q + 32);  // 0..63
      const std::size_t h = e / 128, k = (e % 128) / 32, l = e % 32;
      std::uint8_t& low = blk[64 * h + l + 32 * (k % 2)];
      low |= std::uint8_t(k < 2 ? (u & 0x0F) : ((u & 0x0F) << 4));
      blk[128 + 32 * h + l] |= std::uint8_t((u >> 4) << (2 * k));
    }
  }
}

}  // namespace lagvk::kquant
