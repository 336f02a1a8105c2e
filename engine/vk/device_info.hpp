#pragma once
// What a physical device can do: the features and limits lagvk's kernels depend on, probed once and
// shown by `lagvk devices`. Nothing here is assumed from a particular vendor: every value is read.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lagvk::vk {

struct MemoryHeapInfo {
  std::uint64_t size = 0;
  bool device_local = false;
};

struct DeviceInfo {
  std::uint32_t index = 0;  ///< position in vkEnumeratePhysicalDevices order: what --device N selects
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  std::string name;
  std::string type;  ///< "discrete", "integrated", "virtual", "cpu", "other"
  std::uint32_t vendor_id = 0, device_id = 0;
  std::string driver_name, driver_info;
  std::string driver_version;  ///< decoded per vendor convention where known
  std::string api_version;
  std::uint32_t api_version_raw = 0;

  // Features lagvk uses.
  bool float16_arithmetic = false;  ///< shaderFloat16
  bool storage_16bit = false;       ///< storageBuffer16BitAccess
  bool int8_arithmetic = false;     ///< shaderInt8
  bool storage_8bit = false;        ///< storageBuffer8BitAccess
  bool int64 = false;               ///< shaderInt64
  bool buffer_device_address = false;
  bool subgroup_size_control = false;
  bool subgroup_arithmetic = false;   ///< subgroupAdd/Max in compute shaders
  bool external_memory_host = false;  ///< VK_EXT_external_memory_host: zero-copy upload from host pages
  bool timestamps = false;
  bool push_descriptor = false;  ///< VK_KHR_push_descriptor: kernels can bind tensors per dispatch

  // Limits.
  std::uint32_t subgroup_size = 0, min_subgroup_size = 0, max_subgroup_size = 0;
  std::uint64_t max_storage_buffer_range = 0;
  std::uint64_t min_storage_buffer_offset_alignment = 0;
  std::uint64_t max_texel_buffer_elements = 0;  ///< texels a uniform texel buffer view may hold
  std::uint64_t min_texel_buffer_offset_alignment = 0;
  std::uint32_t max_push_descriptors = 0;
  std::uint64_t max_memory_allocation_size = 0;
  std::uint64_t max_buffer_size = 0;
  std::uint32_t max_shared_memory = 0;
  std::uint32_t max_workgroup_invocations = 0;
  std::uint32_t max_workgroup_count[3] = {0, 0, 0};
  std::uint32_t max_push_constants = 0;
  std::uint64_t min_host_pointer_alignment = 0;
  float timestamp_period_ns = 0.0f;
  std::vector<MemoryHeapInfo> heaps;

  /// Why lagvk cannot run on this device, or empty when it can.
  std::string unsupported_reason;
  /// Higher is preferred by automatic selection; negative when unsupported.
  std::int64_t score = 0;

  [[nodiscard]] bool usable() const { return unsupported_reason.empty(); }
  [[nodiscard]] std::uint64_t device_local_bytes() const;
};

[[nodiscard]] DeviceInfo probe_device(VkPhysicalDevice device, std::uint32_t index);

/// Chooses a device: `requested` (an index) if given, else the LAGVK_DEVICE environment variable,
/// else the usable device with the highest score. Throws lagvk::Error with the list of devices when
/// the choice is impossible.
[[nodiscard]] std::size_t choose_device(const std::vector<DeviceInfo>& devices, int requested = -1);

void to_json(nlohmann::json& j, const DeviceInfo& info);

}  // namespace lagvk::vk
