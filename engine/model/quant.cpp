#include "engine/model/quant.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "engine/core/error.hpp"
#include "engine/core/half.hpp"

namespace lagvk {
namespace {

constexpr std::size_t kQ8Block = 32;
constexpr std::size_t kQ4Block = 32;

void quantize_q8_0(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kQ8Block; ++b) {
    const float* v = &x[b * kQ8Block];
    float amax = 0.0f;
    for (std::size_t j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 blk{};
    blk.d = float_to_half(d);
    // roundf rounds half away from zero, like ggml; |v * id| <= 127 so the cast is in range.
    for (std::size_t j = 0; j < kQ8Block; ++j) blk.qs[j] = static_cast<std::int8_t>(std::roundf(v[j] * id));
    std::memcpy(&dst[b * sizeof(BlockQ8_0)], &blk, sizeof blk);
  }
}

void dequantize_q8_0(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kQ8Block; ++b) {
    BlockQ8_0 blk;
    std::memcpy(&blk, &src[b * sizeof blk], sizeof blk);
    const float d = half_to_float(blk.d);
    for (std::size_t j = 0; j < kQ8Block; ++j) y[b * kQ8Block + j] = d * float(blk.qs[j]);
  }
}

void quantize_q4_0(std::span<const float> x, std::span<std::uint8_t> dst) {
  for (std::size_t b = 0; b < x.size() / kQ4Block; ++b) {
    const float* v = &x[b * kQ4Block];
    // The scale maps the value of largest magnitude to -8 exactly, keeping its sign, so that the
    // asymmetric range [-8, 7] loses nothing at the extreme.
    float amax = 0.0f, max = 0.0f;
    for (std::size_t j = 0; j < kQ4Block; ++j) {
      if (amax < std::fabs(v[j])) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 blk{};
    blk.d = float_to_half(d);
    for (std::size_t j = 0; j < kQ4Block / 2; ++j) {
      const float x0 = v[j] * id + 8.5f;
      const float x1 = v[j + kQ4Block / 2] * id + 8.5f;
      // x0, x1 lie in [0.5, 16.5]; truncation then clamping to 15 is ggml's rounding.
      const auto q0 = std::min<std::uint8_t>(15, static_cast<std::uint8_t>(std::clamp(x0, 0.0f, 16.9f)));
      const auto q1 = std::min<std::uint8_t>(15, static_cast<std::uint8_t>(std::clamp(x1, 0.0f, 16.9f)));
      blk.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
    std::memcpy(&dst[b * sizeof(BlockQ4_0)], &blk, sizeof blk);
  }
}

void dequantize_q4_0(std::span<const std::uint8_t> src, std::span<float> y) {
  for (std::size_t b = 0; b < y.size() / kQ4Block; ++b) {
    BlockQ4_0 blk;
    std::memcpy(&blk, &src[b * sizeof blk], sizeof blk);
    const float d = half_to_float(blk.d);
    for (std::size_t j = 0; j < kQ4Block / 2; ++j) {
      y[b * kQ4Block + j] = d * float(int(blk.qs[j] & 0x0F) - 8);
      y[b * kQ4Block + j + kQ4Block / 2] = d * float(int(blk.qs[j] >> 4) - 8);
    }
  }
}

// K-quants: 256-element super-blocks of 8 (Q4_K, Q5_K) or 16 (Q6_K) sub-blocks with their own scales.
// Arithmetic is done in ggml's order (scale products in float first) so results are bit-identical.
constexpr std::size_t kSuperBlock = 256;

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
void dequantize_q4_q5_k(std::span<const std::uint8_t> src, std::span<float> y, bool five_bit) {
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
void dequantize_q6_k(std::span<const std::uint8_t> src, std::span<float> y) {
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

void check_sizes(GgmlType type, std::size_t n, std::size_t bytes, const char* what) {
  const std::size_t need = row_bytes(type, n);
  if (bytes != need)
    fail("internal: {} of {} {} elements needs {} bytes, got {}", what, n, ggml_type_name(type), need, bytes);
}

}  // namespace

std::uint16_t float_to_bf16(float v) {
  const auto u = std::bit_cast<std::uint32_t>(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 64u);  // quiet NaN
  return static_cast<std::uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

float bf16_to_float(std::uint16_t v) {
  return std::bit_cast<float>(std::uint32_t(v) << 16);
}

bool can_quantize(GgmlType type) {
  switch (type) {
    case GgmlType::f32:
    case GgmlType::f16:
    case GgmlType::bf16:
    case GgmlType::q8_0:
    case GgmlType::q4_0:
      return true;
    default:
      return false;
  }
}

bool can_dequantize(GgmlType type) {
  return can_quantize(type) || type == GgmlType::q4_k || type == GgmlType::q5_k || type == GgmlType::q6_k;
}

void quantize_row(GgmlType type, std::span<const float> src, std::span<std::uint8_t> dst) {
  check_sizes(type, src.size(), dst.size(), "quantize_row");
  switch (type) {
    case GgmlType::f32:
      std::memcpy(dst.data(), src.data(), src.size_bytes());
      return;
    case GgmlType::f16:
      for (std::size_t i = 0; i < src.size(); ++i) {
        const half_bits h = float_to_half(src[i]);
        std::memcpy(&dst[2 * i], &h, 2);
      }
      return;
    case GgmlType::bf16:
      for (std::size_t i = 0; i < src.size(); ++i) {
        const std::uint16_t h = float_to_bf16(src[i]);
        std::memcpy(&dst[2 * i], &h, 2);
      }
      return;
    case GgmlType::q8_0:
      return quantize_q8_0(src, dst);
    case GgmlType::q4_0:
      return quantize_q4_0(src, dst);
    default:
      fail("quantizing to {} is not supported (supported: F32, F16, BF16, Q8_0, Q4_0)", ggml_type_name(type));
  }
}

void dequantize_row(GgmlType type, std::span<const std::uint8_t> src, std::span<float> dst) {
  check_sizes(type, dst.size(), src.size(), "dequantize_row");
  switch (type) {
    case GgmlType::f32:
      std::memcpy(dst.data(), src.data(), src.size());
      return;
    case GgmlType::f16:
      for (std::size_t i = 0; i < dst.size(); ++i) {
        half_bits h;
        std::memcpy(&h, &src[2 * i], 2);
        dst[i] = half_to_float(h);
      }
      return;
    case GgmlType::bf16:
      for (std::size_t i = 0; i < dst.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, &src[2 * i], 2);
        dst[i] = bf16_to_float(h);
      }
      return;
    case GgmlType::q8_0:
      return dequantize_q8_0(src, dst);
    case GgmlType::q4_0:
      return dequantize_q4_0(src, dst);
    case GgmlType::q4_k:
      return dequantize_q4_q5_k(src, dst, false);
    case GgmlType::q5_k:
      return dequantize_q4_q5_k(src, dst, true);
    case GgmlType::q6_k:
      return dequantize_q6_k(src, dst);
    default:
      fail(
          "decoding {} tensors is not supported yet (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, "
          "Q6_K)",
          ggml_type_name(type));
  }
}

std::vector<std::uint8_t> quantize(GgmlType type, std::span<const float> src) {
  std::vector<std::uint8_t> out(row_bytes(type, src.size()));
  quantize_row(type, src, out);
  return out;
}

std::vector<float> dequantize(GgmlType type, std::span<const std::uint8_t> src, std::size_t n) {
  std::vector<float> out(n);
  dequantize_row(type, src, out);
  return out;
}

}  // namespace lagvk
