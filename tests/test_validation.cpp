// LAGVK_VALIDATION: the settings it takes, the setting child processes of tests get, and the CLI's
// opt-in validation status. (tests/validation_probe.cpp shows that messages fail tests in-process.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/core/error.hpp"
#include "engine/vk/instance.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/validation.hpp"

namespace lagvk::test {
namespace {

// The best-practices checks report a correct program too (lagvk enables VK_EXT_debug_utils, a
// debugging extension), so they make the layer speak in a lagvk that has no validation bug.
const std::string kBestPractices = "VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT ";

TEST(ValidationSetting, ParsesEverySettingAndRefusesOthers) {
  for (const char* off : {"", "0", "false", "no", "off"}) {
    const auto o = vk::parse_validation_setting(off);
    EXPECT_FALSE(o.validation || o.synchronization_validation || o.messages_are_errors) << off;
  }
  for (const char* on : {"1", "true", "yes", "on"}) {
    const auto o = vk::parse_validation_setting(on);
    EXPECT_TRUE(o.validation && o.require_validation) << on;
    EXPECT_FALSE(o.synchronization_validation || o.messages_are_errors) << on;
  }
  const auto sync = vk::parse_validation_setting("sync");
  EXPECT_TRUE(sync.validation && sync.synchronization_validation && !sync.messages_are_errors);
  const auto error = vk::parse_validation_setting("error");
  EXPECT_TRUE(error.validation && error.messages_are_errors && !error.synchronization_validation);
  const auto both = vk::parse_validation_setting("sync,error");
  EXPECT_TRUE(both.validation && both.synchronization_validation && both.messages_are_errors);
  EXPECT_TRUE(vk::parse_validation_setting("1,error").messages_are_errors);
  for (const char* bad : {"2", "snyc", "sync,", ",error", "sync error", "ERROR", "0,error"}) {
    try {
      (void)vk::parse_validation_setting(bad);
      ADD_FAILURE() << "accepted LAGVK_VALIDATION=" << bad;
    } catch (const Error& e) {
      EXPECT_NE(
          std::string(e.what()).find("LAGVK_VALIDATION=" + std::string(bad) + " is not a validation setting"),
          std::string::npos)
          << e.what();
    }
  }
}

TEST(ValidationSetting, ChildProcessesFailOnMessagesWheneverTheyValidate) {
  EXPECT_EQ(child_validation_setting("1"), "1,error");
  EXPECT_EQ(child_validation_setting("sync"), "sync,error");
  EXPECT_EQ(child_validation_setting("sync,error"), "sync,error");
  EXPECT_EQ(child_validation_setting(""), "");
  EXPECT_EQ(child_validation_setting("0"), "0");
  // What this test binary's children actually get (main() set it before any test ran).
  const auto r = run_shell("printf %s \"$LAGVK_VALIDATION\"");
  ASSERT_EQ(r.status, 0);
  const auto child = vk::parse_validation_setting(r.out);
  EXPECT_EQ(child.messages_are_errors, child.validation) << "LAGVK_VALIDATION=" << r.out;
}

TEST(ValidationCli, AMessageFailsACommandThatSucceededWithItsOwnStatus) {
  const auto r =
      run_shell("LAGVK_VALIDATION=error " + kBestPractices + lagvk_binary() + " devices --json 2>&1");
  EXPECT_EQ(r.status, 4) << r.out;
  EXPECT_NE(r.out.find("vulkan validation: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error: the Vulkan validation layer reported"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(the command's own was 0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"devices\""), std::string::npos)
      << "the command's output is still written: " << r.out;
}

TEST(ValidationCli, MessagesLeaveTheStatusAloneUnlessAskedTo) {
  const auto r = run_shell("LAGVK_VALIDATION=1 " + kBestPractices + lagvk_binary() + " devices --json 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("vulkan validation: "), std::string::npos) << "the layer said nothing: " << r.out;
  EXPECT_EQ(r.out.find("error:"), std::string::npos) << r.out;
}

TEST(ValidationCli, ACommandWithoutMessagesKeepsItsStatus) {
  const auto ok = run_shell("LAGVK_VALIDATION=sync,error " + lagvk_binary() + " devices --json 2>&1");
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out.find("vulkan validation"), std::string::npos) << ok.out;
  const auto failed =
      run_shell("LAGVK_VALIDATION=error " + lagvk_binary() + " run -m /nonexistent.gguf -p x 2>&1");
  EXPECT_EQ(failed.status, 1) << failed.out;
}

TEST(ValidationCli, ABadSettingIsAUserError) {
  const auto r = run_shell("LAGVK_VALIDATION=snyc " + lagvk_binary() + " devices 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: LAGVK_VALIDATION=snyc is not a validation setting"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace lagvk::test
