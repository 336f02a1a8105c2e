#pragma once
// Every lagvk subcommand: its entry point takes the arguments after the subcommand name and returns
// the process exit code. Each is defined in its own cmd_<name>.cpp.
namespace lagvk::cli {

int cmd_devices(int argc, char** argv);
int cmd_make_model(int argc, char** argv);
int cmd_model_info(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_log(int argc, char** argv);
int cmd_ask(int argc, char** argv);
int cmd_eval(int argc, char** argv);

}  // namespace lagvk::cli
