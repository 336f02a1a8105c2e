#pragma once
// A general ReAct agent for stock instruct models, driven through the model's chat template. The system
// prompt describes the tools; each step is one assistant turn of any number of lines that ends at its
// action or at the final answer:
//   Thought: ...                         Thought: ...
//   Action: search[capital of Ullor]     Final Answer: Emberly
// (also accepted: "Action: NAME(INPUT)", and "Action: NAME" with an "Action Input: INPUT" line). Generation
// stops at "Observation:" (stop string) or the end of the turn, and the text is cut after the action's or
// the answer's line. The host runs the tool and adds its reply as a user turn "Observation: ...". A tool
// that fails (see external_tool.hpp), an unknown tool or a step without an action gives an observation
// saying so; the loop never throws for what the model writes.
//
// LAG per step, as the paper's agent: logs are retrieved with the question and then with each step's
// query (the action's input, or the step's text when it has no action), k per query, accumulating; each
// step runs on [logs..., the chat so far] with the logs spliced as KV or re-read as text (build_context).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/lag/agent.hpp"
#include "engine/lag/doc_search.hpp"
#include "engine/lag/external_tool.hpp"

namespace lagvk::lag {

struct AgentTool {
  std::string name;
  std::string description;  ///< one line for the system prompt: what it does and what its input is
  /// The observation for an input; ok false for a failure (shown as "error: ..."). Never throws.
  std::function<ToolRun(const std::string& input)> run;
};

/// `search` over a document collection: the k best passages (the collection must outlive the tool).
[[nodiscard]] AgentTool search_tool(const DocCollection& docs, std::size_t passages_per_search = 3);
/// An external program (external_tool.hpp).
[[nodiscard]] AgentTool external_tool(const ExternalToolSpec& spec, const ExternalToolLimits& limits = {});
/// A built-in lag::Tool (the multihop lookup): the input is split at commas into its arguments.
[[nodiscard]] AgentTool builtin_tool(const Tool& tool, std::string description);

struct ReactOptions {
  std::uint32_t max_steps = 8;  ///< the paper's limit for multi-hop QA
  std::uint32_t max_step_tokens = 160;
  std::uint32_t logs_per_query = RetrievalDefaults::logs_per_query;  ///< k
  std::uint32_t max_logs =
      RetrievalDefaults::max_logs;  ///< at most this many logs in the context (0: no cap)
  LogMode mode = LogMode::kv;
  TurnAugmentation augmentation;
  SamplerParams sampling = [] {
    SamplerParams p;
    p.temperature = 0.0f;
    return p;
  }();
  std::string system_prompt;  ///< empty: react_system_prompt(tools)
  /// Written at the start of every assistant turn before the model continues it (part of the step): a
  /// small stock model keeps the step format far more often when its turn already starts with it.
  std::string step_prefix = "Thought:";
};

/// The default system prompt: the tools with their descriptions, and the step format.
[[nodiscard]] std::string react_system_prompt(const std::vector<AgentTool>& tools);

/// A step's action: "Action: NAME[INPUT]", "Action: NAME(INPUT)" or "Action: NAME" + "Action Input: INPUT".
struct ReactAction {
  std::string name, input;
};
[[nodiscard]] std::optional<ReactAction> parse_react_action(std::string_view step);
/// The final answer: the rest of the line after the first "Answer:" ("Final Answer:" included), when no
/// action comes before it; nullopt otherwise.
[[nodiscard]] std::optional<std::string> parse_react_answer(std::string_view step);
/// What the host answers an action: the tool's output, "error: ..." for a failed call or an unknown tool,
/// and a reminder of the format for a step without an action (nullopt).
[[nodiscard]] std::string react_observation(const std::vector<AgentTool>& tools,
                                            const std::optional<ReactAction>& action);
/// The step as kept in the transcript: cut after the line of its first action or final answer.
[[nodiscard]] std::string cut_react_step(std::string_view generated);

/// Runs the loop for `question`; `library` may be null (no logs). The task ends unanswered at the step
/// limit, or when the transcript no longer fits in the context. AgentStep::call holds the action (its
/// input as the one argument).
[[nodiscard]] AgentResult run_react_agent(Engine& engine, LogLibrary* library, const std::string& question,
                                          const std::vector<AgentTool>& tools, const ReactOptions& options);

}  // namespace lagvk::lag
