#pragma once
// Every test that touches Vulkan fails on a validation message, and no test has to remember to ask:
//
// - In the test process, every Vulkan instance made through test support (gpu(), load_engine())
//   records into validation_log(), one log per test binary that outlives every engine. A gtest listener
//   that tests/support/main.cpp installs for every test binary fails the running test when the log holds
//   anything at its end (so a test that forgets a fixture is still checked), then empties it.
// - Child processes: tests/support/main.cpp adds `error` to LAGVK_VALIDATION before any test runs, so
//   every lagvk a test starts (run_lagvk, run_shell, system, fork and exec alike) inherits it and exits
//   with its validation status on a message, whatever the test does with the child's stderr.
// - Anything else: the debug callback prints every message as "vulkan validation: ...", and ctest fails
//   any test whose output holds that (tests/CMakeLists.txt). That catches an engine a test loads with
//   Engine::load directly, a child whose stderr reaches the output, and messages after the last test
//   ends (the shared context is destroyed after main returns).
//
// tests/validation_probe.cpp provokes real messages to show that each of these fails a test.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/api/engine.hpp"
#include "engine/vk/instance.hpp"

namespace lagvk::test {

/// The log every Vulkan instance made through test support records into.
[[nodiscard]] const std::shared_ptr<vk::ValidationLog>& validation_log();

/// LAGVK_VALIDATION's options with validation_log() as the log: for any instance or context a test makes.
[[nodiscard]] vk::InstanceOptions instance_options();

/// Engine::load with the engine's messages going to validation_log(). Tests load engines through this.
[[nodiscard]] std::unique_ptr<Engine> load_engine(const std::string& path, LoadOptions options = {});

/// The gtest listener that fails a test when validation_log() holds messages at its end.
class ValidationCheck : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& test) override;
};

/// The LAGVK_VALIDATION a child process gets: `parent` with `error` added when it turns validation on
/// (a child validates exactly when the test process does), else `parent` unchanged.
[[nodiscard]] std::string child_validation_setting(const std::string& parent);

/// Sets LAGVK_VALIDATION to child_validation_setting() of its value, for every child process.
void fail_children_on_validation_messages();

}  // namespace lagvk::test
