#pragma once
// Runs the built lagvk binary for end-to-end CLI tests. Every lagvk a test starts, through these or any
// other way, exits with status 4 on a validation message: tests/support/main.cpp adds `error` to
// LAGVK_VALIDATION for every child process (tests/support/validation.hpp).
#include <string>

namespace lagvk::test {

struct CliResult {
  int status = -1;  ///< exit code, -1 when killed by a signal
  std::string out;  ///< stdout and stderr together
};

[[nodiscard]] std::string lagvk_binary();
/// Runs `lagvk <args>` through the shell (quote arguments yourself).
[[nodiscard]] CliResult run_lagvk(const std::string& args, bool with_stderr = true);
/// Runs a shell command line as it is (stdout only unless it redirects stderr itself).
[[nodiscard]] CliResult run_shell(const std::string& command);

}  // namespace lagvk::test
