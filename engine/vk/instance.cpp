#include "engine/vk/instance.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "engine/vk/check.hpp"

namespace lagvk::vk {

void ValidationLog::add(std::string message) {
  std::lock_guard lock(mutex_);
  messages_.push_back(std::move(message));
}

std::size_t ValidationLog::message_count() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

std::vector<std::string> ValidationLog::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::vector<std::string> ValidationLog::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(messages_, {});
}

InstanceOptions parse_validation_setting(std::string_view value) {
  InstanceOptions options;
  if (value.empty() || value == "0" || value == "false" || value == "no" || value == "off") return options;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string_view setting = value.substr(start, comma - start);
    if (setting == "1" || setting == "true" || setting == "yes" || setting == "on") {
      // the layer alone
    } else if (setting == "sync") {
      options.synchronization_validation = true;
    } else if (setting == "error") {
      options.messages_are_errors = true;
    } else {
      fail(
          "{}={} is not a validation setting: use 1 (the Khronos validation layer), sync (with its "
          "synchronization validation), error (a lagvk command fails on any validation message) or a "
          "comma-separated list such as sync,error; 0 or unset turns validation off",
          kValidationVariable, value);
    }
    start = comma + 1;
  }
  options.validation = true;
  options.require_validation = true;
  return options;
}

InstanceOptions instance_options_from_env() {
  const char* value = std::getenv(kValidationVariable);
  return parse_validation_setting(value ? value : "");
}

namespace {

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                     void* user) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    const char* message = data->pMessage ? data->pMessage : "(no message)";
    // Test runs fail on this prefix in any output (tests/CMakeLists.txt), whichever log recorded it.
    std::fprintf(stderr, "vulkan validation: %s\n", message);
    static_cast<ValidationLog*>(user)->add(message);
  }
  return VK_FALSE;
}

bool layer_available(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

/// Whether the loader (layer == nullptr) or the named layer offers an instance extension.
bool instance_extension_available(const char* layer, const char* extension) {
  uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(layer, &count, nullptr);
  std::vector<VkExtensionProperties> available(count);
  vkEnumerateInstanceExtensionProperties(layer, &count, available.data());
  for (const auto& e : available)
    if (std::strcmp(e.extensionName, extension) == 0) return true;
  return false;
}

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

}  // namespace

Instance::Instance(const InstanceOptions& options)
    : log_(options.log ? options.log : std::make_shared<ValidationLog>()) {
  validation_ = options.validation && layer_available(kValidationLayer);
  if (options.validation && !validation_ && options.require_validation)
    fail(Errc::invalid_argument,
         "the Khronos validation layer was requested ({}) but is not installed (Debian and Ubuntu package: "
         "vulkan-validationlayers)",
         kValidationVariable);
  // Synchronization validation is switched on through VK_EXT_validation_features, which the layer offers.
  synchronization_validation_ =
      validation_ && options.synchronization_validation &&
      instance_extension_available(kValidationLayer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  if (validation_ && options.synchronization_validation && !synchronization_validation_ &&
      options.require_validation)
    fail(Errc::invalid_argument,
         "synchronization validation was requested ({}=sync) but the installed validation layer does not "
         "offer {}; install a newer vulkan-validationlayers",
         kValidationVariable, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "lagvk";
  app.pEngineName = "lagvk";
  app.apiVersion = VK_API_VERSION_1_2;

  std::vector<const char*> layers, extensions;
  // Portability enumeration lists drivers such as MoltenVK that are not fully conformant.
  const bool portability =
      instance_extension_available(nullptr, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
  if (portability) extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
  if (validation_) {
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  if (synchronization_validation_) extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);

  VkDebugUtilsMessengerCreateInfoEXT messenger_info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger_info.messageSeverity =
      VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger_info.pfnUserCallback = on_validation_message;
  messenger_info.pUserData = log_.get();

  // The features go first in the chain: the messenger's create info is reused below on its own, where
  // its pNext must stay null.
  const VkValidationFeatureEnableEXT sync_feature =
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync_feature;
  features.pNext = &messenger_info;

  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  info.flags = portability ? VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR : 0;
  info.enabledLayerCount = uint32_t(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = uint32_t(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  if (synchronization_validation_)
    info.pNext = &features;
  else if (validation_)
    info.pNext = &messenger_info;
  const auto step_done = [&options](std::string_view step) {
    if (options.after_step) options.after_step(step);
  };
  VkInstance instance = VK_NULL_HANDLE;
  check(vkCreateInstance(&info, options.allocator, &instance), "vkCreateInstance");
  instance_ = InstanceHandle(instance, options.allocator);
  step_done("instance");

  if (validation_) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
    if (create) {
      VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
      check(create(instance, &messenger_info, options.allocator, &messenger),
            "vkCreateDebugUtilsMessengerEXT");
      messenger_ = MessengerHandle(instance, messenger, options.allocator);
    }
    step_done("messenger");
  }
}

MessengerHandle::~MessengerHandle() {
  if (messenger_ == VK_NULL_HANDLE) return;
  auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
  if (destroy) destroy(instance_, messenger_, allocator_);
}

std::vector<VkPhysicalDevice> Instance::physical_devices() const {
  uint32_t count = 0;
  check(vkEnumeratePhysicalDevices(instance_.get(), &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(count);
  check(vkEnumeratePhysicalDevices(instance_.get(), &count, devices.data()), "vkEnumeratePhysicalDevices");
  devices.resize(count);
  return devices;
}

}  // namespace lagvk::vk
