#pragma once
// Every lagvk subcommand: its entry point takes the arguments after the subcommand name and returns
// the process exit code. Each is defined in its own cmd_<name>.cpp. The commands that use Vulkan also
// take the instance options main() read from LAGVK_VALIDATION, whose log main() checks once the command
// has finished (LAGVK_VALIDATION=error).
#include <string>

#include "engine/vk/instance.hpp"

namespace lagvk::cli {

int cmd_devices(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_make_model(int argc, char** argv);
int cmd_model_info(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_coprocessor(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_run(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_embed(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_log(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_ask(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_eval(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_serve(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_bench(int argc, char** argv, const vk::InstanceOptions& vulkan);
int cmd_version(int argc, char** argv, const vk::InstanceOptions& vulkan);
/// "lagvk 0.2.0 (commit 1a2b3c4d5e6f)": what `lagvk --version` prints.
[[nodiscard]] std::string version_line();

}  // namespace lagvk::cli
