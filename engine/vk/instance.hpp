#pragma once
// The Vulkan instance: loader, optional Khronos validation layer (with its synchronization validation
// on request), and the record of every validation message it reported (tests fail when that record is
// not empty; the CLI can exit with an error status).
#include <vulkan/vulkan.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  [[nodiscard]] VkInstance handle() const { return instance_; }
  [[nodiscard]] bool validation_enabled() const { return validation_; }
  [[nodiscard]] bool synchronization_validation_enabled() const { return synchronization_validation_; }
  [[nodiscard]] ValidationLog& validation_log() const { return *log_; }
  [[nodiscard]] std::vector<VkPhysicalDevice> physical_devices() const;

 private:
  // The log is declared first so that it outlives the messenger that writes into it.
  std::shared_ptr<ValidationLog> log_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  bool validation_ = false;
  bool synchronization_validation_ = false;
};

}  // namespace lagvk::vk
