// The library's modules as issue #19 left them: no two library headers share a name (a name says what
// its module is), a log id is defined once, and the LAG library holds no evaluation suite or demo tool
// (they live with their users in tools/eval, target lagvk_eval).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/cli.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = LAGVK_SOURCE_DIR;

/// Every C++ source or header below `dir` (relative to the repository root).
std::vector<fs::path> sources_under(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(kRoot / dir)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".hpp" || ext == ".cpp" || ext == ".h"))
      out.push_back(entry.path());
  }
  return out;
}

TEST(LibraryLayout, NoTwoLibraryHeadersShareAName) {
  std::map<std::string, std::vector<std::string>> by_name;
  for (const std::string dir : {"engine", "logstore", "api"})
    for (const auto& path : sources_under(dir)) {
      const std::string relative = fs::relative(path, kRoot).string();
      // The CPU reference (engine/ref) mirrors the names of the GPU code it checks, on purpose.
      if (path.extension() != ".hpp" || relative.starts_with("engine/ref/")) continue;
      by_name[path.filename().string()].push_back(relative);
    }
  for (const auto& [name, paths] : by_name)
    if (paths.size() > 1) {
      std::string list;
      for (const auto& p : paths) list += " " + p;
      ADD_FAILURE() << name << " names " << paths.size() << " modules:" << list;
    }
}

TEST(LibraryLayout, ALogIdIsDefinedOnce) {
  std::vector<std::string> definitions;
  for (const std::string dir : {"engine", "logstore", "api", "include", "tools"})
    for (const auto& path : sources_under(dir)) {
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("using LogId =") != std::string::npos)
        definitions.push_back(fs::relative(path, kRoot).string());
    }
  EXPECT_EQ(definitions, std::vector<std::string>{"logstore/log_id.hpp"});
}

TEST(LibraryLayout, TheLagLibraryHoldsNoEvaluationSuiteOrDemoTool) {
  const CliResult symbols = run_shell("nm -C --defined-only '" + std::string(LAGVK_LAG_LIBRARY) + "'");
  ASSERT_EQ(symbols.status, 0) << symbols.out;
  ASSERT_NE(symbols.out.find("lagvk::lag::"), std::string::npos) << "nm listed no LAG symbols";
  std::istringstream lines(symbols.out);
  for (std::string line; std::getline(lines, line);)
    for (const char* tool : {"KnowledgeBaseLookup", "MultihopSuite", "multihop_eval", "load_multihop_suite"})
      if (line.find(tool) != std::string::npos) ADD_FAILURE() << "in lagvk_lag: " << line;
}

}  // namespace
}  // namespace lagvk::test
