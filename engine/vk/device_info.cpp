#include "engine/vk/device_info.hpp"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace lagvk::vk {

namespace {

std::string type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

std::string version_string(std::uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

// Vendors encode driverVersion differently; these are the documented conventions.
std::string driver_version_string(std::uint32_t vendor, std::uint32_t v) {
  if (vendor == 0x10DE)  // NVIDIA: 10.8.8.6
    return fmt::format("{}.{}.{}.{}", (v >> 22) & 0x3ff, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
  if (vendor == 0x8086)  // Intel on Windows: 18.14
    return fmt::format("{}.{}", v >> 14, v & 0x3fff);
  return version_string(v);
}

bool has_extension(VkPhysicalDevice device, const char* name) {
  uint32_t count = 0;
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> exts(count);
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, exts.data());
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

}  // namespace

std::uint64_t DeviceInfo::device_local_bytes() const {
  std::uint64_t total = 0;
  for (const auto& h : heaps)
    if (h.device_local) total += h.size;
  return total;
}

DeviceInfo probe_device(VkPhysicalDevice device, std::uint32_t index) {
  DeviceInfo info;
  info.index = index;
  info.handle = device;

  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceVulkan11Properties props11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
  VkPhysicalDeviceVulkan12Properties props12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlProperties sgc_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
  VkPhysicalDeviceMaintenance4Properties m4_props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
  VkPhysicalDeviceExternalMemoryHostPropertiesEXT emh_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
  VkPhysicalDevicePushDescriptorPropertiesKHR push_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PUSH_DESCRIPTOR_PROPERTIES_KHR};
  VkPhysicalDeviceProperties basic{};
  vkGetPhysicalDeviceProperties(device, &basic);
  const bool v12 = basic.apiVersion >= VK_API_VERSION_1_2;
  const bool v13 = basic.apiVersion >= VK_API_VERSION_1_3;
  info.external_memory_host = has_extension(device, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
  // lagvk creates its instance for Vulkan 1.2, so 1.3 features count only through their extensions.
  const bool sgc_ext = has_extension(device, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  const bool m4_ext = v13 || has_extension(device, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);

  props.pNext = &props11;
  props11.pNext = v12 ? &props12 : nullptr;
  void** tail = v12 ? &props12.pNext : &props11.pNext;
  if (sgc_ext) {
    *tail = &sgc_props;
    tail = &sgc_props.pNext;
  }
  if (m4_ext) {
    *tail = &m4_props;
    tail = &m4_props.pNext;
  }
  if (info.external_memory_host) {
    *tail = &emh_props;
    tail = &emh_props.pNext;
  }
  info.push_descriptor = has_extension(device, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  if (info.push_descriptor) {
    *tail = &push_props;
    tail = &push_props.pNext;
  }
  vkGetPhysicalDeviceProperties2(device, &props);
  const auto& p = props.properties;

  info.name = p.deviceName;
  info.type = type_name(p.deviceType);
  info.vendor_id = p.vendorID;
  info.device_id = p.deviceID;
  info.api_version_raw = p.apiVersion;
  info.api_version = version_string(p.apiVersion);
  info.driver_version = driver_version_string(p.vendorID, p.driverVersion);
  if (v12) {
    info.driver_name = props12.driverName;
    info.driver_info = props12.driverInfo;
  }
  info.subgroup_size = props11.subgroupSize;
  info.subgroup_arithmetic = (props11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                             (props11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  info.min_subgroup_size = sgc_ext ? sgc_props.minSubgroupSize : props11.subgroupSize;
  info.max_subgroup_size = sgc_ext ? sgc_props.maxSubgroupSize : props11.subgroupSize;
  info.max_storage_buffer_range = p.limits.maxStorageBufferRange;
  info.min_storage_buffer_offset_alignment = p.limits.minStorageBufferOffsetAlignment;
  info.max_texel_buffer_elements = p.limits.maxTexelBufferElements;
  info.min_texel_buffer_offset_alignment = p.limits.minTexelBufferOffsetAlignment;
  info.max_push_descriptors = info.push_descriptor ? push_props.maxPushDescriptors : 0;
  info.max_memory_allocation_size = props11.maxMemoryAllocationSize;
  info.max_buffer_size = m4_ext ? m4_props.maxBufferSize : props11.maxMemoryAllocationSize;
  info.max_shared_memory = p.limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) info.max_workgroup_count[i] = p.limits.maxComputeWorkGroupCount[i];
  info.max_push_constants = p.limits.maxPushConstantsSize;
  info.timestamp_period_ns = p.limits.timestampPeriod;
  info.min_host_pointer_alignment = info.external_memory_host ? emh_props.minImportedHostPointerAlignment : 0;

  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceSubgroupSizeControlFeatures sgc{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  features.pNext = &f11;
  if (v12) f11.pNext = &f12;
  if (sgc_ext) (v12 ? f12.pNext : f11.pNext) = &sgc;
  vkGetPhysicalDeviceFeatures2(device, &features);
  info.int64 = features.features.shaderInt64;
  info.storage_16bit = f11.storageBuffer16BitAccess;
  info.float16_arithmetic = v12 && f12.shaderFloat16;
  info.int8_arithmetic = v12 && f12.shaderInt8;
  info.storage_8bit = v12 && f12.storageBuffer8BitAccess;
  info.buffer_device_address = v12 && f12.bufferDeviceAddress;
  info.subgroup_size_control = sgc_ext && sgc.subgroupSizeControl && sgc.computeFullSubgroups &&
                               (sgc_props.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);

  uint32_t queue_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &queue_count, nullptr);
  std::vector<VkQueueFamilyProperties> queues(queue_count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &queue_count, queues.data());
  bool has_compute = false;
  for (const auto& q : queues) {
    if (q.queueFlags & VK_QUEUE_COMPUTE_BIT) {
      has_compute = true;
      info.timestamps = info.timestamps || q.timestampValidBits > 0;
    }
  }

  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(device, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    info.heaps.push_back(
        {mem.memoryHeaps[i].size, (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});

  // lagvk's kernels address tensors through buffer device addresses (no descriptor range limits) and
  // read fp16 KV pages and weights directly.
  if (!v12)
    info.unsupported_reason = "needs Vulkan 1.2 (device reports " + info.api_version + ")";
  else if (!has_compute)
    info.unsupported_reason = "no compute queue";
  else if (!info.buffer_device_address)
    info.unsupported_reason = "no bufferDeviceAddress feature";
  else if (!info.storage_16bit)
    info.unsupported_reason = "no storageBuffer16BitAccess feature";
  else if (!info.subgroup_arithmetic)
    info.unsupported_reason = "no subgroup arithmetic in compute shaders";

  if (!info.usable()) {
    info.score = -1;
  } else {
    std::int64_t s = 0;
    if (info.type == "discrete")
      s = 4000;
    else if (info.type == "integrated")
      s = 3000;
    else if (info.type == "virtual")
      s = 2000;
    else if (info.type == "cpu")
      s = 0;  // lavapipe: chosen only when nothing else exists
    else
      s = 1000;
    s += std::int64_t(info.device_local_bytes() >> 30);  // prefer more memory among equals
    info.score = s;
  }
  return info;
}

std::size_t choose_device(const std::vector<DeviceInfo>& devices, int requested) {
  if (devices.empty())
    fail(Errc::no_device,
         "no Vulkan device found; install a GPU driver, or Mesa's lavapipe on machines without a GPU");
  auto listing = [&] {
    std::string s;
    for (const auto& d : devices)
      s += fmt::format("\n  {}: {} ({}){}", d.index, d.name, d.type,
                       d.usable() ? "" : " — unsupported: " + d.unsupported_reason);
    return s;
  };
  if (requested < 0) {
    if (const char* env = std::getenv("LAGVK_DEVICE"); env && *env) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (*end != '\0' || v < 0)
        fail(Errc::invalid_argument, "LAGVK_DEVICE='{}' is not a device index; devices:{}", env, listing());
      requested = int(v);
    }
  }
  if (requested >= 0) {
    if (std::size_t(requested) >= devices.size())
      fail(Errc::no_device, "device {} does not exist; devices:{}", requested, listing());
    const auto& d = devices[std::size_t(requested)];
    if (!d.usable())
      fail(Errc::no_device, "device {} ({}) cannot run lagvk: {}", requested, d.name, d.unsupported_reason);
    return std::size_t(requested);
  }
  std::size_t best = devices.size();
  for (std::size_t i = 0; i < devices.size(); ++i)
    if (devices[i].usable() && (best == devices.size() || devices[i].score > devices[best].score)) best = i;
  if (best == devices.size()) fail(Errc::no_device, "no Vulkan device can run lagvk; devices:{}", listing());
  return best;
}

void to_json(nlohmann::json& j, const DeviceInfo& d) {
  nlohmann::json heaps = nlohmann::json::array();
  for (const auto& h : d.heaps) heaps.push_back({{"size", h.size}, {"device_local", h.device_local}});
  j = {
      {"index", d.index},
      {"name", d.name},
      {"type", d.type},
      {"vendor_id", fmt::format("0x{:04x}", d.vendor_id)},
      {"device_id", fmt::format("0x{:04x}", d.device_id)},
      {"driver_name", d.driver_name},
      {"driver_info", d.driver_info},
      {"driver_version", d.driver_version},
      {"api_version", d.api_version},
      {"features",
       {{"float16_arithmetic", d.float16_arithmetic},
        {"storage_16bit", d.storage_16bit},
        {"int8_arithmetic", d.int8_arithmetic},
        {"storage_8bit", d.storage_8bit},
        {"int64", d.int64},
        {"buffer_device_address", d.buffer_device_address},
        {"subgroup_size_control", d.subgroup_size_control},
        {"subgroup_arithmetic", d.subgroup_arithmetic},
        {"external_memory_host", d.external_memory_host},
        {"timestamps", d.timestamps},
        {"push_descriptor", d.push_descriptor}}},
      {"limits",
       {{"subgroup_size", d.subgroup_size},
        {"min_subgroup_size", d.min_subgroup_size},
        {"max_subgroup_size", d.max_subgroup_size},
        {"max_storage_buffer_range", d.max_storage_buffer_range},
        {"min_storage_buffer_offset_alignment", d.min_storage_buffer_offset_alignment},
        {"max_texel_buffer_elements", d.max_texel_buffer_elements},
        {"min_texel_buffer_offset_alignment", d.min_texel_buffer_offset_alignment},
        {"max_push_descriptors", d.max_push_descriptors},
        {"max_memory_allocation_size", d.max_memory_allocation_size},
        {"max_buffer_size", d.max_buffer_size},
        {"max_compute_shared_memory", d.max_shared_memory},
        {"max_workgroup_invocations", d.max_workgroup_invocations},
        {"max_workgroup_count",
         {d.max_workgroup_count[0], d.max_workgroup_count[1], d.max_workgroup_count[2]}},
        {"max_push_constants", d.max_push_constants},
        {"min_imported_host_pointer_alignment", d.min_host_pointer_alignment},
        {"timestamp_period_ns", d.timestamp_period_ns}}},
      {"memory_heaps", heaps},
      {"usable", d.usable()},
      {"unsupported_reason", d.unsupported_reason},
      {"score", d.score},
  };
}

}  // namespace lagvk::vk
