#pragma once
// IEEE 754 binary16 storage for host code. Arithmetic is always done in float.
#include <cstdint>
#include <span>
#include <vector>

#include <glm/gtc/packing.hpp>

namespace lagvk {

using half_bits = std::uint16_t;

[[nodiscard]] inline half_bits float_to_half(float v) {
  return glm::packHalf1x16(v);
}
[[nodiscard]] inline float half_to_float(half_bits h) {
  return glm::unpackHalf1x16(h);
}

[[nodiscard]] inline std::vector<half_bits> to_half(std::span<const float> values) {
  std::vector<half_bits> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = float_to_half(values[i]);
  return out;
}

[[nodiscard]] inline std::vector<float> from_half(std::span<const half_bits> values) {
  std::vector<float> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = half_to_float(values[i]);
  return out;
}

/// Rounds a float to the nearest representable half and back: what a value looks like after fp16 storage.
[[nodiscard]] inline float round_to_half(float v) {
  return half_to_float(float_to_half(v));
}

}  // namespace lagvk
