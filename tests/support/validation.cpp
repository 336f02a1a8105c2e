#include "tests/support/validation.hpp"

#include <cstdlib>

namespace lagvk::test {

const std::shared_ptr<vk::ValidationLog>& validation_log() {
  static const auto log = std::make_shared<vk::ValidationLog>();
  return log;
}

vk::InstanceOptions instance_options() {
  vk::InstanceOptions options = vk::instance_options_from_env();
  options.log = validation_log();
  return options;
}

std::unique_ptr<Engine> load_engine(const std::string& path, LoadOptions options) {
  options.instance.log = validation_log();
  return Engine::load(path, options);
}

void ValidationCheck::OnTestEnd(const ::testing::TestInfo&) {
  // gtest still attributes failures to the test here, and this listener (appended after the default
  // printer) hears the end of a test before the printer does, so the test is reported as failed.
  const auto messages = validation_log()->take();
  if (messages.empty()) return;
  std::string shown;
  for (std::size_t i = 0; i < messages.size() && i < 3; ++i) shown += "\n  " + messages[i];
  ADD_FAILURE() << messages.size() << " Vulkan validation message(s) during this test:" << shown;
}

std::string child_validation_setting(const std::string& parent) {
  const vk::InstanceOptions options = vk::parse_validation_setting(parent);
  if (!options.validation || options.messages_are_errors) return parent;
  return parent + ",error";
}

void fail_children_on_validation_messages() {
  const char* parent = std::getenv(vk::kValidationVariable);
  const std::string child = child_validation_setting(parent ? parent : "");
  if (!child.empty()) ::setenv(vk::kValidationVariable, child.c_str(), 1);
}

}  // namespace lagvk::test
