// The top-level usage, every command's --help and the 'log' verb dispatch: exit codes (0 ok, 1 error, 2
// usage) and the shape of what they print. No case loads a Vulkan driver ('lagvk devices' is in
// test_cli_devices.cpp), so the sanitizer build checks these paths for leaks.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"

namespace lagvk {
namespace {

using test::CliCase;
using test::kExitError;
using test::kExitOk;
using test::kExitUsage;

// Every command, as the usage lists them; a new command must be added here (and to the coverage check).
const std::vector<std::string> kCommands = {"devices", "make-model", "model-info", "tokenize",
                                            "run",     "ask",        "eval",       "log"};

class CliUsage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(test::lagvk_binary()))
      LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  }
};

TEST_F(CliUsage, TopLevelUsageListsEveryCommand) {
  std::vector<std::string> listed;
  for (const auto& c : kCommands) listed.push_back("  " + c + " ");
  listed.push_back("usage: lagvk <command> [options]");
  // Without a command the usage is printed and the exit code says it was a usage error.
  test::run_cases({{"no command", "", kExitUsage, listed},
                   {"--help", "--help", kExitOk, listed},
                   {"-h", "-h", kExitOk, listed},
                   {"unknown command",
                    "frobnicate --json",
                    kExitUsage,
                    {"lagvk: unknown command 'frobnicate'", "usage: lagvk <command>"}}});
}

TEST_F(CliUsage, EveryCommandsHelpExitsZeroWithItsUsage) {
  test::run_cases({
      {"devices --help", "devices --help", kExitOk, {"usage: lagvk devices", "--device"}},
      {"devices -h", "devices -h", kExitOk, {"usage: lagvk devices"}},
      {"make-model --help", "make-model --help", kExitOk, {"usage: lagvk make-model", "--weights DIR"}},
      {"make-model -h", "make-model -h", kExitOk, {"usage: lagvk make-model"}},
      {"model-info --help", "model-info --help", kExitOk, {"usage: lagvk model-info", "--metadata"}},
      {"model-info -h", "model-info -h", kExitOk, {"usage: lagvk model-info"}},
      {"tokenize --help", "tokenize --help", kExitOk, {"usage: lagvk tokenize", "--pieces"}},
      {"tokenize -h", "tokenize -h", kExitOk, {"usage: lagvk tokenize"}},
      {"run --help", "run --help", kExitOk, {"usage: lagvk run", "--seed S", "(default: 0.8)"}},
      {"run -h", "run -h", kExitOk, {"usage: lagvk run"}},
      {"ask --help", "ask --help", kExitOk, {"usage: lagvk ask", "--retrieval R"}},
      {"ask -h", "ask -h", kExitOk, {"usage: lagvk ask"}},
      {"eval --help", "eval --help", kExitOk, {"usage: lagvk eval", "--split S"}},
      {"eval -h", "eval -h", kExitOk, {"usage: lagvk eval"}},
      {"log --help", "log --help", kExitOk, {"usage: lagvk log <verb>", "  import "}},
      {"log -h", "log -h", kExitOk, {"usage: lagvk log <verb>"}},
      {"log add --help", "log add --help", kExitOk, {"usage: lagvk log add", "--embed"}},
      {"log add -h", "log add -h", kExitOk, {"usage: lagvk log add"}},
      {"log ls --help", "log ls --help", kExitOk, {"usage: lagvk log ls"}},
      {"log ls -h", "log ls -h", kExitOk, {"usage: lagvk log ls"}},
      {"log show --help", "log show --help", kExitOk, {"usage: lagvk log show"}},
      {"log show -h", "log show -h", kExitOk, {"usage: lagvk log show"}},
      {"log rm --help", "log rm --help", kExitOk, {"usage: lagvk log rm"}},
      {"log rm -h", "log rm -h", kExitOk, {"usage: lagvk log rm"}},
      {"log stats --help", "log stats --help", kExitOk, {"usage: lagvk log stats"}},
      {"log stats -h", "log stats -h", kExitOk, {"usage: lagvk log stats"}},
      {"log verify --help", "log verify --help", kExitOk, {"usage: lagvk log verify"}},
      {"log verify -h", "log verify -h", kExitOk, {"usage: lagvk log verify"}},
      {"log export --help", "log export --help", kExitOk, {"usage: lagvk log export"}},
      {"log export -h", "log export -h", kExitOk, {"usage: lagvk log export"}},
      {"log import --help", "log import --help", kExitOk, {"usage: lagvk log import"}},
      {"log import -h", "log import -h", kExitOk, {"usage: lagvk log import"}},
  });
}

TEST_F(CliUsage, LogVerbDispatch) {
  test::run_cases(
      {{"log without a verb", "log", kExitUsage, {"usage: lagvk log <verb>", "  add "}},
       {"unknown verb", "log frob --store x", kExitError, {"error: log: unknown verb 'frob'"}},
       {"unknown option", "log ls --stor x", kExitError, {"error: lagvk log ls: unknown option '--stor'"}},
       {"missing store", "log ls --json", kExitError, {"error: log: --store DIR is required"}}});
}

}  // namespace
}  // namespace lagvk
