// The top-level usage, every command's --help and the 'log' verb dispatch: exit codes (0 ok, 1 error, 2
// usage) and the shape of what they print. No case loads a Vulkan driver ('lagvk devices' is in
// test_cli_devices.cpp), so the sanitizer build checks these paths for leaks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "include/lagvk/lagvk.h"
#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"

namespace lagvk {
namespace {

using test::CliCase;
using test::kExitError;
using test::kExitOk;
using test::kExitUsage;

// Every command, as the usage lists them; a new command must be added here (and to the coverage check).
const std::vector<std::string> kCommands = {"help",     "devices", "make-model", "model-info", "quantize",
                                            "tokenize", "run",     "ask",        "eval",       "serve",
                                            "log",      "bench",   "version"};
const std::vector<std::string> kLogVerbs = {"add", "ls", "show", "rm", "stats", "verify", "export", "import"};

/// Every command and log verb that has a --help ("log add" for a verb).
std::vector<std::string> every_command_with_help() {
  std::vector<std::string> out;
  for (const auto& c : kCommands)
    if (c != "help") out.push_back(c);
  for (const auto& v : kLogVerbs) out.push_back("log " + v);
  return out;
}

/// The value --help shows as OPTION's default: "0.8" from "  --temp T  ... (default: 0.8)".
std::string help_default(const std::string& help, const std::string& option) {
  std::istringstream in(help.substr(help.find("\noptions:")));
  for (std::string line; std::getline(in, line);) {
    if (line.find(" " + option + " ") == std::string::npos) continue;
    const auto at = line.find("(default: ");
    if (at == std::string::npos) return "";
    return line.substr(at + 10, line.find(')', at) - at - 10);
  }
  ADD_FAILURE() << option << " is not in:\n" << help;
  return "";
}

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
                   {"help", "help", kExitOk, listed},
                   {"help --help", "help --help", kExitOk, listed},
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
      {"quantize --help",
       "quantize --help",
       kExitOk,
       {"usage: lagvk quantize", "q4_k_m", "--allow-requantize"}},
      {"quantize -h", "quantize -h", kExitOk, {"usage: lagvk quantize"}},
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
      {"bench --help", "bench --help", kExitOk, {"usage: lagvk bench", "--n-depth LIST", "--parts LIST"}},
      {"bench -h", "bench -h", kExitOk, {"usage: lagvk bench"}},
      {"version --help", "version --help", kExitOk, {"usage: lagvk version", "--json", "--device N"}},
      {"version -h", "version -h", kExitOk, {"usage: lagvk version"}},
  });
}

// 'lagvk help COMMAND [VERB]' prints exactly what 'lagvk COMMAND [VERB] --help' does.
TEST_F(CliUsage, HelpCommandIsEachCommandsHelp) {
  for (const auto& command : every_command_with_help()) {
    const auto via_help = test::run_lagvk("help " + command);
    const auto direct = test::run_lagvk(command + " --help");
    EXPECT_EQ(via_help.status, kExitOk) << command << ":\n" << via_help.out;
    EXPECT_EQ(direct.status, kExitOk) << command;
    EXPECT_NE(via_help.out.find("usage: lagvk " + command), std::string::npos) << via_help.out;
    EXPECT_EQ(via_help.out, direct.out) << command;
  }
  test::run_cases(
      {{"help of an unknown command",
        "help frobnicate",
        kExitUsage,
        {"lagvk: unknown command 'frobnicate'", "usage: lagvk <command>"}},
       {"help of an unknown log verb", "help log frob", kExitError, {"error: log: unknown verb 'frob'"}}});
}

// --version needs no Vulkan device: the version of the library the CLI runs on and its build commit.
TEST_F(CliUsage, VersionFlagPrintsTheLibraryVersionAndCommit) {
  const auto r = test::run_lagvk("--version");
  ASSERT_EQ(r.status, kExitOk) << r.out;
  const std::regex line(R"(^lagvk ([0-9.]+) \(commit ([0-9a-f]{7,40}|unknown)\)\n$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m, line)) << r.out;
  EXPECT_EQ(m[1].str(), LAGVK_VERSION_STRING);
}

// Each command's --help shows the default it really uses: ask answers greedily, run samples with the
// library's defaults (lagvk::GenerateOptions), whose values the help must show.
TEST_F(CliUsage, GenerationDefaultsInHelpAreTheOnesUsed) {
  const auto ask = test::run_lagvk("ask --help");
  const auto run = test::run_lagvk("run --help");
  ASSERT_EQ(ask.status, kExitOk) << ask.out;
  ASSERT_EQ(run.status, kExitOk) << run.out;
  EXPECT_EQ(std::strtod(help_default(ask.out, "--temp").c_str(), nullptr), 0.0) << "ask is greedy";
  const GenerateOptions library;
  const SamplerParams& s = library.sampling;
  for (const auto* help : {&ask.out, &run.out}) {
    EXPECT_EQ(std::strtoul(help_default(*help, "--n-predict").c_str(), nullptr, 10), library.max_tokens);
    EXPECT_EQ(std::strtol(help_default(*help, "--top-k").c_str(), nullptr, 10), s.top_k);
    EXPECT_FLOAT_EQ(std::strtof(help_default(*help, "--top-p").c_str(), nullptr), s.top_p);
    EXPECT_FLOAT_EQ(std::strtof(help_default(*help, "--min-p").c_str(), nullptr), s.min_p);
    EXPECT_FLOAT_EQ(std::strtof(help_default(*help, "--repeat-penalty").c_str(), nullptr), s.repeat_penalty);
    EXPECT_NE(help->find("penalise the last " + std::to_string(s.repeat_last_n) + " tokens"),
              std::string::npos);
  }
  EXPECT_FLOAT_EQ(std::strtof(help_default(run.out, "--temp").c_str(), nullptr), s.temperature);
}

// A path in a command's description (its examples) exists in a checkout after the README's setup, run from
// the repository's root, or is plainly a placeholder (MODEL.gguf, STORE_DIR, WEIGHTS_DIR/x.json).
TEST_F(CliUsage, HelpExamplesNameFilesThatExistOrPlaceholders) {
  // A word (after a space, quote, bracket or '=') that is a path into the checkout, an absolute path or a
  // file name with a model or data extension.
  const std::regex path_like(
      R"((?:^|[\s'"(=])((?:assets|build|tools|tests|scripts|examples|docs|bench)/[\w./*-]*|/[\w./-]+|)"
      R"([\w./-]+\.(?:gguf|jsonl?|txt)))");
  const std::regex placeholder(R"((^|/)[A-Z][A-Z0-9_]*(\.\w+)?(/|$))");
  for (const auto& command : every_command_with_help()) {
    const auto r = test::run_lagvk(command + " --help");
    ASSERT_EQ(r.status, kExitOk) << command;
    const std::string description = r.out.substr(0, r.out.find("\noptions:"));
    for (std::sregex_iterator it(description.begin(), description.end(), path_like), end; it != end; ++it) {
      std::string path = (*it)[1].str();
      while (!path.empty() && std::string(".,;:").find(path.back()) != std::string::npos) path.pop_back();
      if (std::regex_search(path, placeholder) || path.find('*') != std::string::npos) continue;
      const std::filesystem::path full =
          path.front() == '/' ? path : std::string(LAGVK_SOURCE_DIR) + "/" + path;
      EXPECT_TRUE(std::filesystem::exists(full))
          << "'lagvk " << command << " --help' names " << path << ", which does not exist:\n"
          << description;
    }
  }
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
