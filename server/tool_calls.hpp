#pragma once
// Tool calls in a model's own words, per chat format: the opening a tool_choice forces onto the answer, and
// the generated text parsed back into OpenAI's tool_calls. The formats are those the chat templates teach
// (engine/tokenizer/chat_template.hpp):
//   qwen3, chatml   <tool_call>\n{"name": NAME, "arguments": {...}}\n</tool_call>, one block per call, after
//                   any text (the text is the message's content)
//   llama31         the whole answer is {"name": NAME, "parameters": {...}} (one call)
//   plain           the multihop agent's "Action: NAME(arg1, arg2)" at the end of its line, the arguments
//                   given by position and named after the tool's declared parameters in order
// Text that is not a well-formed call of a declared tool is content: a model that answers in prose, or a
// random one that writes noise, gets a normal answer, never an error.
#include <string>
#include <string_view>
#include <vector>

namespace lagvk::server {

/// The request's tool_choice.
struct ToolChoice {
  enum class Mode { none, automatic, required, named };
  Mode mode = Mode::automatic;
  std::string name;  ///< the function named (Mode::named)
};

/// A declared tool as parsing needs it: its name and its parameters' names in declared order.
struct ToolSpec {
  std::string name;
  std::vector<std::string> parameters;
};

/// One parsed call: the tool's name and its arguments as compact JSON text (OpenAI's function.arguments).
struct ParsedToolCall {
  std::string name;
  std::string arguments;
};

/// A generated answer split into its text and its calls.
struct ParsedReply {
  std::string content;  ///< the text outside the calls (all of it when there are none)
  std::vector<ParsedToolCall> calls;
};

/// True when the server can offer tools to a model of this chat format (lagvk_model_info.chat_format).
[[nodiscard]] bool format_has_tools(std::string_view chat_format);

/// The text the answer must begin with so that the model calls a tool (required) or this tool (named);
/// "" for none and automatic.
[[nodiscard]] std::string forced_prefix(std::string_view chat_format, const ToolChoice& choice);

/// Splits text (the forced prefix included) into content and calls of the declared tools.
[[nodiscard]] ParsedReply parse_reply(std::string_view chat_format, std::string_view text,
                                      const std::vector<ToolSpec>& tools);

}  // namespace lagvk::server
