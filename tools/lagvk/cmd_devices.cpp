// lagvk devices: every Vulkan device, what it offers, and which one lagvk would choose.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/vk/context.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {

namespace {

std::string mib(std::uint64_t bytes) {
  return fmt::format("{} MiB", bytes >> 20);
}

void print_device(const vk::DeviceInfo& d, bool chosen) {
  fmt::print("{} [{}] {} ({}, Vulkan {}, driver {} {})\n", chosen ? "*" : " ", d.index, d.name, d.type,
             d.api_version, d.driver_name.empty() ? "?" : d.driver_name, d.driver_version);
  if (!d.usable()) fmt::print("      unsupported: {}\n", d.unsupported_reason);
  fmt::print(
      "      features: fp16 arithmetic {}, 16-bit storage {}, int8 {}, 8-bit storage {}, "
      "buffer device address {}, subgroup arithmetic {}, external host memory {}\n",
      d.float16_arithmetic ? "yes" : "no", d.storage_16bit ? "yes" : "no", d.int8_arithmetic ? "yes" : "no",
      d.storage_8bit ? "yes" : "no", d.buffer_device_address ? "yes" : "no",
      d.subgroup_arithmetic ? "yes" : "no", d.external_memory_host ? "yes" : "no");
  fmt::print("      subgroup size {} (range {}-{}), shared memory {} KiB, workgroup invocations {}\n",
             d.subgroup_size, d.min_subgroup_size, d.max_subgroup_size, d.max_shared_memory / 1024,
             d.max_workgroup_invocations);
  fmt::print("      maxStorageBufferRange {}, maxMemoryAllocationSize {}, maxBufferSize {}\n",
             mib(d.max_storage_buffer_range), mib(d.max_memory_allocation_size), mib(d.max_buffer_size));
  std::string heaps;
  for (const auto& h : d.heaps)
    heaps += fmt::format("{}{}{}", heaps.empty() ? "" : ", ", mib(h.size),
                         h.device_local ? " (device-local)" : "");
  fmt::print("      memory heaps: {}\n", heaps);
}

}  // namespace

int cmd_devices(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  Args args("devices", "[--json] [--device N]",
            "Lists every Vulkan device with the features and limits lagvk depends on, and marks (*) the one\n"
            "lagvk would use: --device N, else $LAGVK_DEVICE, else the best-scoring usable device\n"
            "(discrete > integrated > virtual > CPU; lavapipe only when nothing else exists).",
            {{"--json", "", "", "print one JSON object: {\"devices\": [...], \"chosen\": index}", ""},
             {"--device", "-d", "N", "the device index lagvk should choose", ""}});
  if (!args.parse(argc, argv)) return 0;
  const vk::Instance instance(vulkan);
  const auto devices = vk::enumerate_devices(instance);
  int chosen = -1;
  std::string choice_error;
  try {
    chosen = int(vk::choose_device(devices, int(args.get_int("--device", -1, -1, 1 << 16))));
  } catch (const lagvk::Error& e) {
    choice_error = e.what();
  }
  if (args.has("--json")) {
    nlohmann::json j;
    j["devices"] = devices;
    j["chosen"] = chosen >= 0 ? nlohmann::json(chosen) : nlohmann::json(nullptr);
    if (!choice_error.empty()) j["error"] = choice_error;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    if (devices.empty()) fmt::print("no Vulkan devices\n");
    for (const auto& d : devices) print_device(d, int(d.index) == chosen);
    if (!choice_error.empty()) fmt::print(stderr, "error: {}\n", choice_error);
  }
  return chosen >= 0 ? 0 : 1;
}

}  // namespace lagvk::cli
