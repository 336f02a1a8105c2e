#pragma once
// The Vulkan instance: loader, optional Khronos validation layer, and the record of every validation
// message it reported (tests fail when that record is not empty).
#include <vulkan/vulkan.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lagvk::vk {

/// Messages from the validation layer, kept so a caller can assert there were none.
class ValidationLog {
 public:
  void add(std::string message);
  [[nodiscard]] std::size_t error_count() const;
  [[nodiscard]] std::vector<std::string> messages() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

struct InstanceOptions {
  /// Enable VK_LAYER_KHRONOS_validation. Defaults to the LAGVK_VALIDATION environment variable.
  bool validation = false;
  /// Fail when validation was asked for but the layer is not installed (tests want this).
  bool require_validation = false;
};

/// Reads LAGVK_VALIDATION (1/true/yes) into InstanceOptions.
[[nodiscard]] InstanceOptions instance_options_from_env();

class Instance {
 public:
  explicit Instance(const InstanceOptions& options = instance_options_from_env());
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  [[nodiscard]] VkInstance handle() const { return instance_; }
  [[nodiscard]] bool validation_enabled() const { return validation_; }
  [[nodiscard]] ValidationLog& validation_log() const { return *log_; }
  [[nodiscard]] std::vector<VkPhysicalDevice> physical_devices() const;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  bool validation_ = false;
  std::unique_ptr<ValidationLog> log_;
};

}  // namespace lagvk::vk
