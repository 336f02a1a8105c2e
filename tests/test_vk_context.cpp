// vk::Context's constructor frees what it made when a later step throws: the validation layer reports a
// VkDevice (or any object of it) still alive when the instance is destroyed, so a constructor that
// leaks leaves messages in the log.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/vk/context.hpp"

namespace lagvk::test {
namespace {

/// Every step the constructor reports through ContextOptions::after_step, in order.
const char* const kSteps[] = {"device", "pipeline cache", "command pool", "allocator"};

struct StepFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(VkContext, AConstructorFailingAfterAnyStepLeavesNothingBehind) {
  for (const std::string step : kSteps) {
    // A log of this context's own, with the layer required: the check must not pass for want of it.
    auto log = std::make_shared<vk::ValidationLog>();
    vk::ContextOptions options;
    options.instance.validation = true;
    options.instance.require_validation = true;
    options.instance.log = log;
    bool reached = false;
    options.after_step = [&](std::string_view done) {
      if (done != step) return;
      reached = true;
      throw StepFailure("injected failure after " + step);
    };
    EXPECT_THROW(vk::Context context(options), StepFailure) << step;
    EXPECT_TRUE(reached) << "the constructor never reported step " << step;
    for (const auto& message : log->take()) ADD_FAILURE() << "after a failure at " << step << ": " << message;
  }
}

TEST(VkContext, EveryStepIsReportedOnceInOrder) {
  std::string seen;
  vk::ContextOptions options;
  options.after_step = [&](std::string_view step) { seen += std::string(step) + ";"; };
  vk::Context context(options);
  std::string expected;
  for (const std::string step : kSteps) expected += step + ";";
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace lagvk::test
