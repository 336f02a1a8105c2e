#include "engine/model/quant.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/core/half.hpp"
#include "engine/model/quant_32.hpp"
#include "engine/model/quant_k.hpp"

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
  return type_info(type).writable;
}

bool can_dequantize(GgmlType type) {
  // Every format in weight_types.def has a decoder (test_quant checks each against gguf-py).
  return ggml_type_info(static_cast<std::uint32_t>(type)).has_value();
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
    case GgmlType::q4_1:
      return quant32::quantize_q4_1(src, dst);
    case GgmlType::q5_0:
      return quant32::quantize_q5_0(src, dst);
    case GgmlType::q5_1:
      return quant32::quantize_q5_1(src, dst);
    case GgmlType::iq4_nl:
      return quant32::quantize_iq4_nl(src, dst);
    case GgmlType::iq4_xs:
      return quant32::quantize_iq4_xs(src, dst);
    case GgmlType::q2_k:
      return kquant::quantize_q2_k(src, dst);
    case GgmlType::q3_k:
      return kquant::quantize_q3_k(src, dst);
    case GgmlType::q4_k:
      return kquant::quantize_q4_k(src, dst);
    case GgmlType::q5_k:
      return kquant::quantize_q5_k(src, dst);
    case GgmlType::q6_k:
      return kquant::quantize_q6_k(src, dst);
    default:
      fail("quantizing to {} is not supported (supported: {})", ggml_type_name(type),
           type_names(TypeList::writable_lower));
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
    case GgmlType::q4_1:
      return quant32::dequantize_q4_1(src, dst);
    case GgmlType::q5_0:
      return quant32::dequantize_q5_0(src, dst);
    case GgmlType::q5_1:
      return quant32::dequantize_q5_1(src, dst);
    case GgmlType::iq4_nl:
      return quant32::dequantize_iq4_nl(src, dst);
    case GgmlType::iq4_xs:
      return quant32::dequantize_iq4_xs(src, dst);
    case GgmlType::q2_k:
      return kquant::dequantize_q2_k(src, dst);
    case GgmlType::q3_k:
      return kquant::dequantize_q3_k(src, dst);
    case GgmlType::q4_k:
      return kquant::dequantize_q4_k(src, dst);
    case GgmlType::q5_k:
      return kquant::dequantize_q5_k(src, dst);
    case GgmlType::q6_k:
      return kquant::dequantize_q6_k(src, dst);
    default:
      fail("internal: {} is in weight_types.def but has no decoder", ggml_type_name(type));
  }
}

namespace {

// Below this many elements a tensor is encoded on the calling thread: starting threads would cost more.
constexpr std::size_t kParallelElements = std::size_t(1) << 18;

}  // namespace

std::vector<std::uint8_t> quantize(GgmlType type, std::span<const float> src) {
  std::vector<std::uint8_t> out(row_bytes(type, src.size()));
  const unsigned threads =
      src.size() < kParallelElements ? 1u : std::max(1u, std::thread::hardware_concurrency());
  if (threads == 1) {
    quantize_row(type, src, out);
    return out;
  }
  // Every format encodes its blocks independently, so ranges of whole blocks are encoded on threads of
  // their own with the bytes a single thread writes.
  const auto& info = type_info(type);
  const std::size_t blocks = src.size() / info.block_size;
  std::vector<std::exception_ptr> failures(threads);
  auto work = [&](unsigned t) {
    try {
      const std::size_t first = blocks * t / threads, end = blocks * (t + 1) / threads;
      quantize_row(
          type, src.subspan(first * info.block_size, (end - first) * info.block_size),
          std::span(out).subspan(first * info.bytes_per_block, (end - first) * info.bytes_per_block));
    } catch (...) {
      failures[t] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
  }  // joined
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  return out;
}

std::vector<float> dequantize(GgmlType type, std::span<const std::uint8_t> src, std::size_t n) {
  std::vector<float> out(n);
  dequantize_row(type, src, out);
  return out;
}

}  // namespace lagvk
