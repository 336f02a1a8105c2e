// lagvk: Log-Augmented Generation on Vulkan. Dispatches to one subcommand per file.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/core/error.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/store_guard.hpp"

namespace {

using lagvk::vk::InstanceOptions;

// Exit statuses: 0 success, 1 an error the user can act on ("error: ..."), 2 usage, 3 internal error,
// kExitValidation a validation message under LAGVK_VALIDATION=error.
constexpr int kExitValidation = 4;

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv, const InstanceOptions& vulkan);
};

constexpr Command kCommands[] = {
    {"devices", "list Vulkan devices, their features and limits, and which one lagvk would use",
     lagvk::cli::cmd_devices},
    {"make-model", "write a GGUF model with deterministic random weights (tests, benchmarks)",
     [](int argc, char** argv, const InstanceOptions&) { return lagvk::cli::cmd_make_model(argc, argv); }},
    {"model-info", "describe a GGUF model and check that lagvk can read it",
     [](int argc, char** argv, const InstanceOptions&) { return lagvk::cli::cmd_model_info(argc, argv); }},
    {"quantize", "write a quantized copy of an F32/F16/BF16 model (q4_k_m, q5_k_m, q8_0, ... recipes)",
     [](int argc, char** argv, const InstanceOptions&) { return lagvk::cli::cmd_quantize(argc, argv); }},
    {"coprocessor", "write a cache-augmentation coprocessor for a model (make)",
     [](int argc, char** argv, const InstanceOptions&) { return lagvk::cli::cmd_coprocessor(argc, argv); }},
    {"tokenize", "print the token ids of a text under a model's tokenizer",
     [](int argc, char** argv, const InstanceOptions&) { return lagvk::cli::cmd_tokenize(argc, argv); }},
    {"run", "generate text from a prompt with a GGUF model", lagvk::cli::cmd_run},
    {"embed", "print the embedding (sentence vector) of each text, with an embedding or decoder model",
     lagvk::cli::cmd_embed},
    {"ask", "answer a question with logs retrieved from a store (Log-Augmented Generation)",
     lagvk::cli::cmd_ask},
    {"eval", "measure LAG per log mode on the multihop suite or your own QA data (EM, F1, steps)",
     lagvk::cli::cmd_eval},
    {"serve", "serve a model over HTTP with OpenAI's API (chat, completions, embeddings)",
     lagvk::cli::cmd_serve},
    {"log", "manage a store of logs: add, ls, show, rm, stats, verify, export, import", lagvk::cli::cmd_log},
    {"bench", "measure speed next to the device's roofs: kernels, prefill/decode, LAG, llama.cpp (--json)",
     lagvk::cli::cmd_bench},
    {"version", "print the version, git commit, Vulkan loader and the device's driver (--json)",
     lagvk::cli::cmd_version},
};

void print_usage() {
  std::printf(
      "lagvk: run Llama-family models on any Vulkan GPU, with Log-Augmented Generation.\n\n"
      "usage: lagvk <command> [options]    (lagvk <command> --help for details)\n"
      "       lagvk --version\n\ncommands:\n"
      "  help         this usage, or a command's help: lagvk help <command> [<verb>]\n");
  for (const auto& c : kCommands)
    std::printf("  %-12.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()),
                c.summary.data());
  std::printf(
      "\nenvironment:\n  LAGVK_DEVICE=N        use Vulkan device N (as listed by 'lagvk devices')\n"
      "  LAGVK_VALIDATION=1    enable the Khronos validation layer; =sync adds its synchronization\n"
      "                        validation; =error makes any validation message fail the command with\n"
      "                        exit status %d (after the command's own output); combine as sync,error\n"
      "\nexit status: 0 success, 1 error, 2 usage, 3 internal error, %d validation message\n",
      kExitValidation, kExitValidation);
}

/// Output that could not be written (a full disk, /dev/full, a closed pipe) is a failure, not a success
/// with the output lost.
int check_stdout(int status) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
  std::fprintf(stderr, "error: writing the output failed: %s\n", std::strerror(errno));
  return status == 0 ? 1 : status;
}

/// Under LAGVK_VALIDATION=error a validation message fails the command whatever its own status: a bug in
/// lagvk's Vulkan use that a test must not miss, with a status of its own that tells it apart from the
/// command's errors.
int validation_verdict(int status, const InstanceOptions& vulkan) {
  if (!vulkan.messages_are_errors || !vulkan.log) return status;
  const std::size_t messages = vulkan.log->message_count();
  if (messages == 0) return status;
  std::fprintf(stderr,
               "error: the Vulkan validation layer reported %zu message(s) (the 'vulkan validation:' lines); "
               "LAGVK_VALIDATION=error makes that exit status %d (the command's own was %d)\n",
               messages, kExitValidation, status);
  return kExitValidation;
}

/// The CLI's advice for an error of this kind, printed after its message (the library's messages speak
/// in library terms and never name flags); nullptr when the message says enough.
const char* hint_for(lagvk::Errc code) {
  switch (code) {
    case lagvk::Errc::context_full:
      return "raise --ctx or shorten the prompt (ask and eval: retrieve fewer logs with -k)";
    case lagvk::Errc::out_of_device_memory:
      return "use a smaller --ctx or model, or another device (--device N; see 'lagvk devices')";
    case lagvk::Errc::no_device:
      return "'lagvk devices' lists the devices and which one --device N or LAGVK_DEVICE would choose; on "
             "machines without a GPU: apt-get install mesa-vulkan-drivers";
    case lagvk::Errc::device_lost:
      return "run the command again; if it repeats, try another device with --device N or update the driver";
    case lagvk::Errc::bad_model_file:
      return "'lagvk model-info -m FILE' shows what lagvk reads in it; convert models with llama.cpp's "
             "convert_hf_to_gguf.py, or write a test model with 'lagvk make-model'";
    case lagvk::Errc::store:
      return "'lagvk log verify --store DIR' checks a store; 'lagvk log rm --store DIR ID' removes a damaged "
             "log; 'lagvk log export' / 'log import' move logs to a new store";
    case lagvk::Errc::store_model_mismatch:
      return "a store belongs to the model that made it: give this model another --store directory (and its "
             "dense vectors to their embedder: give the --embed-model they were made with, none when they "
             "are the model's own)";
    case lagvk::Errc::not_found:
      return "'lagvk log ls --store DIR' lists the logs and their ids";
    default:
      return nullptr;
  }
}

int run_command(const Command& command, int argc, char** argv) {
  InstanceOptions vulkan;
  int status = 0;
  try {
    vulkan = lagvk::vk::instance_options_from_env();
    vulkan.log = std::make_shared<lagvk::vk::ValidationLog>();
    status = command.run(argc, argv, vulkan);
  } catch (const lagvk::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    if (const char* hint = hint_for(e.code())) std::fprintf(stderr, "hint: %s\n", hint);
    status = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    status = 3;
  }
  return validation_verdict(check_stdout(status), vulkan);
}

/// lagvk help [COMMAND [VERB]]: the usage, or what `lagvk COMMAND [VERB] --help` prints.
int help(int argc, char** argv) {
  if (argc == 0 || std::strcmp(argv[0], "--help") == 0 || std::strcmp(argv[0], "-h") == 0) {
    print_usage();
    return 0;
  }
  static char help_flag[] = "--help";
  std::vector<char*> args(argv + 1, argv + argc);  // the verb, for 'lagvk help log add'
  args.push_back(help_flag);
  for (const auto& c : kCommands)
    if (c.name == argv[0]) return run_command(c, int(args.size()), args.data());
  std::fprintf(stderr, "lagvk: unknown command '%s'\n\n", argv[0]);
  print_usage();
  return 2;
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
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("%s\n", lagvk::cli::version_line().c_str());
    return check_stdout(0);
  }
  if (std::strcmp(argv[1], "help") == 0) return help(argc - 2, argv + 2);
  for (const auto& c : kCommands)
    if (c.name == argv[1]) return run_command(c, argc - 2, argv + 2);
  std::fprintf(stderr, "lagvk: unknown command '%s'\n\n", argv[1]);
  print_usage();
  return 2;
}
