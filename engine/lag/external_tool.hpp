#pragma once
// Tools given as external programs (`lagvk ask --react --tool NAME=COMMAND`). The protocol:
//   stdin   one JSON object, {"tool": "NAME", "input": "the action's input text"}, then end of file;
//   stdout  one JSON object, {"output": "..."} (any JSON value: a non-string is passed on as JSON text)
//           or {"error": "..."}; exit status 0.
// COMMAND runs under /bin/sh -c in a process group of its own. A tool that exits non-zero, is killed by a
// signal, runs past its timeout, prints more than the output limit or prints anything but such an object
// gives the agent an error observation saying so (ToolRun::ok false), never an exception: the model reads
// what went wrong and may try again. The process group is killed and reaped on every path (ChildProcess).
#include <chrono>
#include <cstddef>
#include <string>

namespace lagvk::lag {

struct ExternalToolLimits {
  std::chrono::milliseconds timeout{10000};  ///< wall time for one call
  std::size_t max_output_bytes = 64 * 1024;  ///< stdout beyond this is an error (stderr is capped too)
};

struct ToolRun {
  bool ok = false;
  std::string text;  ///< the tool's output, or what went wrong (for the observation)
};

/// Runs COMMAND once with `input` as the protocol's request for tool `name`.
[[nodiscard]] ToolRun run_external_tool(const std::string& name, const std::string& command,
                                        const std::string& input, const ExternalToolLimits& limits = {});

/// "NAME=COMMAND" split at the first '='; NAME must be letters, digits, '_' or '-'. Errc::invalid_argument
/// otherwise, naming the flag's expected form.
struct ExternalToolSpec {
  std::string name, command;
};
[[nodiscard]] ExternalToolSpec parse_external_tool_spec(const std::string& spec);

}  // namespace lagvk::lag
