#include "tests/support/cli.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>

namespace lagvk::test {

std::string lagvk_binary() {
  return std::string(LAGVK_BINARY_DIR) + "/bin/lagvk";
}

CliResult run_lagvk(const std::string& args, bool with_stderr) {
  return run_shell(lagvk_binary() + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

CliResult run_shell(const std::string& cmd) {
  FILE* pipe = popen(cmd.c_str(), "r");
  CliResult r;
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.out.append(buf.data(), n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace lagvk::test
