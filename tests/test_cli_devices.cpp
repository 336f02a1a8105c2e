// 'lagvk devices': the text and JSON listings agree on the device lagvk would use, --device chooses one,
// and a device that does not exist is an error (exit 1) that still lists the others. 'lagvk version'
// names the library's version, the Vulkan loader and that same device with its driver.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "include/lagvk/lagvk.h"
#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"

namespace lagvk {
namespace {

using test::JsonType;
using test::kExitError;
using test::kExitOk;

class CliDevices : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(test::lagvk_binary()))
      LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  }
};

TEST_F(CliDevices, ListsTheDeviceItWouldUse) {
  const auto text =
      test::run_case({"text", "devices", kExitOk, {"features: fp16 arithmetic", "memory heaps:"}});
  const auto all = test::run_case({"json",
                                   "devices --json",
                                   kExitOk,
                                   {},
                                   {{"/devices", JsonType::array},
                                    {"/chosen", JsonType::integer},
                                    {"/devices/0/name", JsonType::string},
                                    {"/devices/0/index", JsonType::integer},
                                    {"/devices/0/features", JsonType::object},
                                    {"/devices/0/limits", JsonType::object}}});
  ASSERT_TRUE(all.json.is_object());
  const auto& devices = all.json["devices"];
  const int chosen = all.json["chosen"].get<int>();
  ASSERT_GE(chosen, 0);
  ASSERT_LT(std::size_t(chosen), devices.size());
  // The text marks the chosen device with '*', the one the JSON names.
  EXPECT_NE(
      text.run.out.find("* [" + std::to_string(chosen) + "] " + devices[chosen]["name"].get<std::string>()),
      std::string::npos)
      << text.run.out;

  // --device N chooses N (its short form too); a device that does not exist is an error, still listed.
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const auto pick = test::run_case({"--device",
                                      "devices --json --device " + std::to_string(i),
                                      kExitOk,
                                      {},
                                      {{"/chosen", JsonType::integer}}});
    if (devices[i].value("usable", true)) {
      EXPECT_EQ(pick.json["chosen"], i);
    }
  }
  const auto shortform = test::run_case(
      {"-d", "devices -d " + std::to_string(chosen), kExitOk, {"* [" + std::to_string(chosen) + "]"}});
  const std::string missing = std::to_string(devices.size() + 7);
  const auto bad = test::run_case(
      {"a device that does not exist",
       "devices --json -d " + missing,
       kExitError,
       {"does not exist"},
       {{"/chosen", JsonType::null}, {"/error", JsonType::string}, {"/devices", JsonType::array}}});
  EXPECT_EQ(bad.json["devices"].size(), devices.size());
  test::run_case({"text, bad device",
                  "devices --device " + missing,
                  kExitError,
                  {"error: device " + missing + " does not exist", "memory heaps:"}});
  test::run_case({"bad index",
                  "devices --device x",
                  kExitError,
                  {"error: lagvk devices: option --device (-d) expects an integer"}});
}

TEST_F(CliDevices, VersionNamesTheLibraryTheLoaderAndTheChosenDevice) {
  const auto all =
      test::run_case({"devices", "devices --json", kExitOk, {}, {{"/chosen", JsonType::integer}}});
  const int chosen = all.json["chosen"].get<int>();
  const auto& device = all.json["devices"][std::size_t(chosen)];
  const auto v = test::run_case({"json",
                                 "version --json",
                                 kExitOk,
                                 {},
                                 {{"/version", JsonType::string},
                                  {"/commit", JsonType::string},
                                  {"/vulkan_loader", JsonType::string},
                                  {"/device/index", JsonType::integer},
                                  {"/device/name", JsonType::string},
                                  {"/device/api_version", JsonType::string},
                                  {"/device/driver_name", JsonType::string},
                                  {"/device/driver_version", JsonType::string}}});
  ASSERT_TRUE(v.json.is_object());
  EXPECT_EQ(v.json["version"], LAGVK_VERSION_STRING);  // the library loaded is the one the header describes
  // The same commit as --version prints, a git hash (or "unknown" outside a checkout).
  const auto line = test::run_lagvk("--version");
  EXPECT_EQ(line.out, "lagvk " + v.json["version"].get<std::string>() + " (commit " +
                          v.json["commit"].get<std::string>() + ")\n");
  EXPECT_TRUE(std::regex_match(v.json["commit"].get<std::string>(), std::regex("[0-9a-f]{7,40}|unknown")))
      << v.json["commit"];
  EXPECT_TRUE(std::regex_match(v.json["vulkan_loader"].get<std::string>(), std::regex(R"(1\.\d+\.\d+)")))
      << v.json["vulkan_loader"];
  // The device lagvk would use, as 'devices' reports it.
  EXPECT_EQ(v.json["device"]["index"], chosen);
  EXPECT_EQ(v.json["device"]["name"], device["name"]);
  EXPECT_EQ(v.json["device"]["driver_name"], device["driver_name"]);
  EXPECT_EQ(v.json["device"]["driver_version"], device["driver_version"]);

  const std::string name = device["name"].get<std::string>();
  test::run_case({"text",
                  "version",
                  kExitOk,
                  {"lagvk " LAGVK_VERSION_STRING " (commit ", "Vulkan loader 1.",
                   "device [" + std::to_string(chosen) + "] " + name}});
  test::run_case({"--device",
                  "version --device " + std::to_string(chosen),
                  kExitOk,
                  {"device [" + std::to_string(chosen) + "] "}});
  const std::string missing = std::to_string(all.json["devices"].size() + 7);
  test::run_case(
      {"a device that does not exist",
       "version --json -d " + missing,
       kExitError,
       {"does not exist"},
       {{"/version", JsonType::string}, {"/device", JsonType::null}, {"/error", JsonType::string}}});
  test::run_case({"an argument", "version 2", kExitError, {"error: lagvk version: unexpected argument '2'"}});
}

}  // namespace
}  // namespace lagvk
