#pragma once
// Tools an agent can call, and the call syntax the agent loop recognises in model output:
//   Action: name(arg1, arg2)
// The tools themselves live with their users (the demo knowledge-base lookup: tools/eval/knowledge_base.hpp).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lagvk::lag {

struct ToolCall {
  std::string name;
  std::vector<std::string> args;
  [[nodiscard]] std::string to_string() const;
};

/// The last "Action: name(args)" in text, arguments trimmed; nullopt when there is none.
[[nodiscard]] std::optional<ToolCall> parse_tool_call(std::string_view text);
/// The text after the last "Answer:" (trimmed, up to the end of its line); nullopt when there is none.
[[nodiscard]] std::optional<std::string> parse_answer(std::string_view text);

class Tool {
 public:
  virtual ~Tool() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  /// The observation the host appends; never throws for bad arguments (the model should read why).
  [[nodiscard]] virtual std::string call(const std::vector<std::string>& args) const = 0;
};

}  // namespace lagvk::lag
