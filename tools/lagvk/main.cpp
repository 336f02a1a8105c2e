// lagvk: Log-Augmented Generation on Vulkan. Dispatches to one subcommand per file.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "engine/core/error.hpp"
#include "tools/lagvk/commands.hpp"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"devices", "list Vulkan devices, their features and limits, and which one lagvk would use",
     lagvk::cli::cmd_devices},
    {"make-model", "write a GGUF model with deterministic random weights (tests, benchmarks)",
     lagvk::cli::cmd_make_model},
    {"model-info", "describe a GGUF model and check that lagvk can read it", lagvk::cli::cmd_model_info},
    {"tokenize", "print the token ids of a text under a model's tokenizer", lagvk::cli::cmd_tokenize},
    {"run", "generate text from a prompt with a GGUF model", lagvk::cli::cmd_run},
    {"ask", "answer a question with logs retrieved from a store (Log-Augmented Generation)",
     lagvk::cli::cmd_ask},
    {"eval", "measure LAG on the multihop suite: exact match and agent steps per log mode",
     lagvk::cli::cmd_eval},
    {"log", "manage a store of logs: add, ls, show, rm, stats, verify, export, import", lagvk::cli::cmd_log},
};

void print_usage() {
  std::printf(
      "lagvk: run Llama-family models on any Vulkan GPU, with Log-Augmented Generation.\n\n"
      "usage: lagvk <command> [options]    (lagvk <command> --help for details)\n\ncommands:\n");
  for (const auto& c : kCommands)
    std::printf("  %-12.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()),
                c.summary.data());
  std::printf(
      "\nenvironment:\n  LAGVK_DEVICE=N        use Vulkan device N (as listed by 'lagvk devices')\n"
      "  LAGVK_VALIDATION=1    enable the Khronos validation layer\n");
}

/// Output that could not be written (a full disk, /dev/full, a closed pipe) is a failure, not a success
/// with the output lost.
int check_stdout(int status) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
  std::fprintf(stderr, "error: writing the output failed: %s\n", std::strerror(errno));
  return status == 0 ? 1 : status;
}

}  // namespace

int main(int argc, char** argv) {
  // At the file-size limit (ulimit -f) a write fails with EFBIG, which the store and the writers report
  // as "no space"; the default SIGXFSZ would kill the process with a store half made.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (c.name == argv[1]) {
      try {
        return check_stdout(c.run(argc - 2, argv + 2));
      } catch (const lagvk::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return check_stdout(1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "internal error: %s\n", e.what());
        return check_stdout(3);
      }
    }
  }
  std::fprintf(stderr, "lagvk: unknown command '%s'\n\n", argv[1]);
  print_usage();
  return 2;
}
