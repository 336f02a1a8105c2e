#pragma once
// Helpers shared by the kernel wrappers: grid shapes within device limits and size validation.
#include <cstdint>
#include <string_view>

#include "engine/core/error.hpp"
#include "engine/vk/buffer.hpp"
#include "engine/vk/device_info.hpp"

namespace lagvk::ops {

struct Grid {
  std::uint32_t x = 1, y = 1;
};

/// Lays out `groups` workgroups over x and y so that neither exceeds the device's limits; kernels rebuild
/// the flat index with flat_group_id() and skip the tail.
[[nodiscard]] inline Grid grid_1d(const vk::DeviceInfo& info, std::uint64_t groups) {
  const std::uint64_t max_x = info.max_workgroup_count[0];
  if (groups <= max_x) return {std::uint32_t(groups), 1};
  const std::uint64_t y = (groups + max_x - 1) / max_x;
  if (y > info.max_workgroup_count[1])
    fail("internal: {} workgroups exceed the device's grid limits", groups);
  return {std::uint32_t((groups + y - 1) / y), std::uint32_t(y)};
}

[[nodiscard]] constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

/// Throws when a tensor view is smaller than the kernel will touch.
inline void require_bytes(std::string_view op, std::string_view tensor, const vk::BufferView& view,
                          std::uint64_t needed) {
  if (!view.buffer) fail("internal: {}: {} has no buffer", op, tensor);
  if (view.bytes < needed) fail("internal: {}: {} holds {} bytes, needs {}", op, tensor, view.bytes, needed);
}

}  // namespace lagvk::ops
