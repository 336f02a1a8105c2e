#pragma once
// Every lagvk subcommand: its entry point takes the arguments after the subcommand name and returns
// the process exit code. Each is defined in its own cmd_<name>.cpp.
namespace lagvk::cli {

int cmd_devices(int argc, char** argv);

}  // namespace lagvk::cli
