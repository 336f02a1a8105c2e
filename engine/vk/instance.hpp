#pragma once
// The Vulkan instance: loader, optional Khronos validation layer (with its synchronization validation
// on request), and the record of every validation message it reported (tests fail when that record is
// not empty; the CLI can exit with an error status).
#include <vulkan/vulkan.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lagvk::vk {

/// Messages from the validation layer, kept so a caller can assert there were none.
class ValidationLog {
 public:
  void add(std::string message);
  [[nodiscard]] std::size_t message_count() const;
  [[nodiscard]] std::vector<std::string> messages() const;
  /// The messages so far, leaving the log empty (so each check sees only what came after the last).
  [[nodiscard]] std::vector<std::string> take();

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

struct InstanceOptions {
  /// Enable VK_LAYER_KHRONOS_validation.
  bool validation = false;
  /// Fail when validation was asked for but the layer (or the synchronization validation asked for) is
  /// not installed (tests want this).
  bool require_validation = false;
  /// Also run the layer's synchronization validation: hazards between commands that no barrier orders
  /// (it sees transfer commands and descriptor-bound resources, not accesses through buffer addresses).
  bool synchronization_validation = false;
  /// The application treats any validation message as a failure: the lagvk command exits with its
  /// validation status even when the command itself succeeded. The instance only records messages.
  bool messages_are_errors = false;
  /// Where the instance records messages. Shared so that the caller can read it after the instance (and
  /// whatever owns it, such as an Engine) is gone, and so that several instances can share one log;
  /// null: the instance keeps a log of its own.
  std::shared_ptr<ValidationLog> log;
  /// Host allocation callbacks for the instance and its messenger (null: the driver's own). Tests count
  /// allocations through them to find an instance that was never destroyed.
  const VkAllocationCallbacks* allocator = nullptr;
  /// Test hook: called after each step of the constructor ("instance", then "messenger" when validation
  /// is on) with the step's name. Tests throw from it to check that a constructor failing part-way frees
  /// everything it made.
  std::function<void(std::string_view step)> after_step;
};

/// Owns a VkInstance: destroyed after every object made from it (it is declared before them).
class InstanceHandle {
 public:
  InstanceHandle() = default;
  InstanceHandle(VkInstance instance, const VkAllocationCallbacks* allocator)
      : instance_(instance), allocator_(allocator) {}
  ~InstanceHandle() {
    if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, allocator_);
  }
  InstanceHandle(InstanceHandle&& other) noexcept
      : instance_(std::exchange(other.instance_, VK_NULL_HANDLE)), allocator_(other.allocator_) {}
  InstanceHandle& operator=(InstanceHandle&& other) noexcept {
    std::swap(instance_, other.instance_);
    std::swap(allocator_, other.allocator_);
    return *this;
  }

  [[nodiscard]] VkInstance get() const { return instance_; }

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  const VkAllocationCallbacks* allocator_ = nullptr;
};

/// Owns the debug messenger that feeds a ValidationLog; destroyed before its instance.
class MessengerHandle {
 public:
  MessengerHandle() = default;
  MessengerHandle(VkInstance instance, VkDebugUtilsMessengerEXT messenger,
                  const VkAllocationCallbacks* allocator)
      : instance_(instance), messenger_(messenger), allocator_(allocator) {}
  ~MessengerHandle();
  MessengerHandle(MessengerHandle&& other) noexcept
      : instance_(other.instance_),
        messenger_(std::exchange(other.messenger_, VK_NULL_HANDLE)),
        allocator_(other.allocator_) {}
  MessengerHandle& operator=(MessengerHandle&& other) noexcept {
    std::swap(instance_, other.instance_);
    std::swap(messenger_, other.messenger_);
    std::swap(allocator_, other.allocator_);
    return *this;
  }

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  const VkAllocationCallbacks* allocator_ = nullptr;
};

/// The name of the environment variable behind instance_options_from_env().
inline constexpr const char* kValidationVariable = "LAGVK_VALIDATION";

/// Reads a LAGVK_VALIDATION value: a comma-separated list of 1 (or true/yes/on: the validation layer),
/// sync (the layer with synchronization validation) and error (the layer, with messages_are_errors);
/// empty, 0, false, no or off: no validation. Each setting requires the layer. Throws lagvk::Error on
/// anything else, naming the variable.
[[nodiscard]] InstanceOptions parse_validation_setting(std::string_view value);

/// parse_validation_setting of $LAGVK_VALIDATION (unset: no validation).
[[nodiscard]] InstanceOptions instance_options_from_env();

class Instance {
 public:
  explicit Instance(const InstanceOptions& options = instance_options_from_env());
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  [[nodiscard]] VkInstance handle() const { return instance_.get(); }
  [[nodiscard]] bool validation_enabled() const { return validation_; }
  [[nodiscard]] bool synchronization_validation_enabled() const { return synchronization_validation_; }
  [[nodiscard]] ValidationLog& validation_log() const { return *log_; }
  [[nodiscard]] std::vector<VkPhysicalDevice> physical_devices() const;

 private:
  // Every member owns what it holds and members are destroyed in reverse order, so a constructor that
  // throws part-way frees exactly what it had made: the messenger first, then the instance, and the log
  // last (it outlives the messenger that writes into it).
  std::shared_ptr<ValidationLog> log_;
  InstanceHandle instance_;
  MessengerHandle messenger_;
  bool validation_ = false;
  bool synchronization_validation_ = false;
};

}  // namespace lagvk::vk
