// lagvk_devices: every Vulkan device as `lagvk devices` lists it, with the device a model loads on by
// default marked (vk::choose_device with no index: LAGVK_DEVICE, else the best usable one).
#include <algorithm>

#include "api/model_access.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::api {
namespace {

lagvk_device_type device_type(const std::string& type) {
  if (type == "discrete") return LAGVK_DEVICE_DISCRETE_GPU;
  if (type == "integrated") return LAGVK_DEVICE_INTEGRATED_GPU;
  if (type == "virtual") return LAGVK_DEVICE_VIRTUAL_GPU;
  if (type == "cpu") return LAGVK_DEVICE_CPU;
  return LAGVK_DEVICE_OTHER;
}

std::uint64_t largest_device_local_heap(const vk::DeviceInfo& d) {
  std::uint64_t largest = 0;
  for (const auto& h : d.heaps)
    if (h.device_local) largest = std::max(largest, h.size);
  return largest;
}

/// The default device's index, or -1 when none can be chosen (no usable device, a bad LAGVK_DEVICE).
int default_device(const std::vector<vk::DeviceInfo>& devices) {
  try {
    return int(vk::choose_device(devices));
  } catch (const Error&) {
    return -1;
  }
}

constexpr std::size_t kStringsPerDevice = 5;

std::unique_ptr<lagvk_device_list> device_list(const std::vector<vk::DeviceInfo>& devices) {
  auto list = std::make_unique<lagvk_device_list>();
  list->strings.reserve(devices.size() * kStringsPerDevice);  // the info's pointers stay valid
  auto keep = [&](const std::string& s) { return list->strings.emplace_back(s).c_str(); };
  const int chosen = default_device(devices);
  for (const auto& d : devices) {
    lagvk_device_info info{};
    info.index = d.index;
    info.name = keep(d.name);
    info.type = device_type(d.type);
    info.driver_name = keep(d.driver_name);
    info.driver_info = keep(d.driver_info);
    info.api_version = keep(d.api_version);
    info.vendor_id = d.vendor_id;
    info.device_id = d.device_id;
    info.device_memory_bytes = largest_device_local_heap(d);
    info.max_storage_buffer_range = d.max_storage_buffer_range;
    info.subgroup_size = d.subgroup_size;
    info.usable = d.usable() ? 1 : 0;
    info.why_unusable = keep(d.unsupported_reason);
    info.is_default = int(d.index) == chosen ? 1 : 0;
    list->devices.push_back(info);
  }
  return list;
}

}  // namespace
}  // namespace lagvk::api

using namespace lagvk;

extern "C" {

lagvk_status lagvk_devices(lagvk_device_list** out) {
  return api::guarded([&] {
    api::clear_output(out);
    const vk::Instance instance(vk::instance_options_from_env());
    *out = api::adopt(api::device_list(vk::enumerate_devices(instance)));
  });
}

size_t lagvk_device_list_size(const lagvk_device_list* list) {
  if (!api::is_live(list, api::HandleKind::device_list)) return 0;
  return list->devices.size();
}

const lagvk_device_info* lagvk_device_list_get(const lagvk_device_list* list, size_t i) {
  if (!api::is_live(list, api::HandleKind::device_list) || i >= list->devices.size()) return nullptr;
  return &list->devices[i];
}

void lagvk_device_list_free(lagvk_device_list* list) {
  if (!api::is_live(list, api::HandleKind::device_list)) return;
  api::unregister_handle(list);
  delete list;
}

}  // extern "C"
