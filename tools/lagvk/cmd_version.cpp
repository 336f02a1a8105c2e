// lagvk version / lagvk --version: the library's version and build commit (from liblagvk, the library this
// CLI runs on), the Vulkan loader's version, and the device lagvk would use with its driver.
#include <cstdio>

#include <fmt/format.h>
#include <vulkan/vulkan.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/vk/context.hpp"
#include "lagvk/lagvk.h"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/generation_flags.hpp"

namespace lagvk::cli {

namespace {

/// "1.3.239": the loader's own version (vkEnumerateInstanceVersion), which may differ from a device's.
std::string loader_version() {
  std::uint32_t v = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion(&v) != VK_SUCCESS) return "unknown";
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

}  // namespace

std::string version_line() {
  return fmt::format("lagvk {} (commit {})", lagvk_version_string(), lagvk_build_commit());
}

int cmd_version(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  Args args("version", "[--json] [--device N]",
            "Prints lagvk's version and the git commit it was built from, the Vulkan loader's version, and\n"
            "the device lagvk would use (--device N, else $LAGVK_DEVICE, else the best) with its driver.\n"
            "'lagvk --version' prints the first line alone, without touching Vulkan.",
            {{"--json", "", "", "print one JSON object: version, commit, vulkan_loader, device", ""},
             load_option_specs()[1]});
  if (!args.parse(argc, argv)) return 0;
  if (!args.positional().empty())
    fail("lagvk version: unexpected argument '{}' (see 'lagvk version --help')", args.positional()[0]);
  const int requested = int(args.get_int("--device", -1, -1, kMaxDeviceIndex));
  const vk::Instance instance(vulkan);
  const auto devices = vk::enumerate_devices(instance);
  const vk::DeviceInfo* device = nullptr;
  std::string device_error;
  try {
    device = &devices.at(vk::choose_device(devices, requested));
  } catch (const Error& e) {
    device_error = e.what();  // the version is still worth printing; the exit status tells
  }
  if (args.has("--json")) {
    nlohmann::json j{{"version", lagvk_version_string()},
                     {"commit", lagvk_build_commit()},
                     {"vulkan_loader", loader_version()}};
    if (device)
      j["device"] = {{"index", device->index},
                     {"name", device->name},
                     {"api_version", device->api_version},
                     {"driver_name", device->driver_name},
                     {"driver_version", device->driver_version}};
    else
      j["device"] = nullptr;
    if (!device_error.empty()) j["error"] = device_error;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    fmt::print("{}\nVulkan loader {}\n", version_line(), loader_version());
    if (device)
      fmt::print("device [{}] {} (Vulkan {}, driver {} {})\n", device->index, device->name,
                 device->api_version, device->driver_name.empty() ? "?" : device->driver_name,
                 device->driver_version);
  }
  if (device_error.empty()) return 0;
  fmt::print(stderr, "error: {}\n", device_error);
  return 1;
}

}  // namespace lagvk::cli
