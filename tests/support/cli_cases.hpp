#pragma once
// Table-driven CLI tests: one case is a command line, the exit code it must give and the shape of its
// output (key text fragments; with JSON, the fields and their types). The command lines are written out
// whole, with {placeholders} for the files a test makes, so that scripts/check_cli_coverage.py can see
// which flags of which command the tests run.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/cli.hpp"

namespace lagvk::test {

/// The CLI's documented exit codes (tools/lagvk/main.cpp): 1 for an error ("error: ..." on stderr), 2 for
/// a usage error (no command, an unknown command). A signal, a sanitizer abort or exit 3 ("internal
/// error") never matches an expected code.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

enum class JsonType { integer, number, string, boolean, array, object, null };

struct JsonField {
  std::string pointer;  ///< JSON pointer, e.g. "/timings/prefill_ms" or "/devices/0/name"
  JsonType type;
};

struct CliCase {
  std::string name;                      ///< what the case shows
  std::string args;                      ///< the command line after 'lagvk', with {placeholders}
  int exit_code = kExitOk;               ///< the exact exit code
  std::vector<std::string> fragments;    ///< text the output must hold (stdout+stderr; stdout with json)
  std::vector<JsonField> json = {};      ///< when not empty: stdout alone is one JSON value with these
  std::vector<std::string> absent = {};  ///< text the output must not hold
};

using Placeholders = std::map<std::string, std::string>;

/// args with every {name} replaced by its value (shell-quoted by the caller where needed).
[[nodiscard]] std::string expand(const std::string& args, const Placeholders& values);

struct CaseResult {
  CliResult run;
  nlohmann::json json;  ///< the parsed stdout for a JSON case, null otherwise
};

/// Runs one case and checks its exit code, fragments and JSON shape with gtest expectations.
CaseResult run_case(const CliCase& c, const Placeholders& values = {});

/// Runs every case of a table.
void run_cases(const std::vector<CliCase>& cases, const Placeholders& values = {});

/// "error: " and the fragment on the output, and exactly exit code 1.
void expect_error(const CliResult& r, const std::string& fragment, const std::string& what);

[[nodiscard]] const char* json_type_name(JsonType t);

}  // namespace lagvk::test
