#include "engine/lag/react_agent.hpp"

#include <algorithm>
#include <set>

namespace lagvk::lag {

namespace {

std::string trim(std::string_view s, std::string_view junk = " \t\r\n") {
  const auto b = s.find_first_not_of(junk);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(junk) - b + 1));
}

/// The end of the line that holds position `at` (the index of its '\n', or the text's size).
std::size_t line_end(std::string_view text, std::size_t at) {
  const auto nl = text.find('\n', at);
  return nl == std::string_view::npos ? text.size() : nl;
}

}  // namespace

std::string react_observation(const std::vector<AgentTool>& tools, const std::optional<ReactAction>& action) {
  if (!action) return "no action: write \"Action: TOOL[INPUT]\" or \"Final Answer: ...\"";
  const auto tool =
      std::find_if(tools.begin(), tools.end(), [&](const AgentTool& t) { return t.name == action->name; });
  if (tool == tools.end()) {
    std::string names;
    for (const auto& t : tools) names += (names.empty() ? "" : ", ") + t.name;
    return "error: unknown tool '" + action->name + "' (the tools: " + names + ")";
  }
  const ToolRun r = tool->run(action->input);
  return r.ok ? r.text : "error: " + r.text;
}

std::optional<std::string> parse_react_answer(std::string_view step) {
  const auto at = step.find("Answer:");
  if (at == std::string_view::npos) return std::nullopt;
  const auto action = step.find("Action:");
  if (action != std::string_view::npos && action < at) return std::nullopt;
  return trim(step.substr(at + 7, line_end(step, at) - at - 7));
}

AgentTool search_tool(const DocCollection& docs, std::size_t passages_per_search) {
  return {"search", "search[QUERY] finds the passages of the documents that best match QUERY",
          [&docs, passages_per_search](const std::string& input) {
            if (trim(input).empty()) return ToolRun{false, "search needs a query: search[WORDS]"};
            return ToolRun{true, docs.search_text(input, passages_per_search)};
          }};
}

AgentTool external_tool(const ExternalToolSpec& spec, const ExternalToolLimits& limits) {
  return {spec.name, spec.name + "[INPUT] runs the tool " + spec.name,
          [spec, limits](const std::string& input) {
            return run_external_tool(spec.name, spec.command, input, limits);
          }};
}

AgentTool builtin_tool(const Tool& tool, std::string description) {
  return {tool.name(), std::move(description), [&tool](const std::string& input) {
            std::vector<std::string> args;
            std::string_view rest = input;
            while (true) {
              const auto comma = rest.find(',');
              args.push_back(trim(rest.substr(0, comma), " \t\r\n\"'"));
              if (comma == std::string_view::npos) break;
              rest.remove_prefix(comma + 1);
            }
            return ToolRun{true, tool.call(args)};
          }};
}

std::string react_system_prompt(const std::vector<AgentTool>& tools) {
  std::string s =
      "Answer the user's question. Work in steps, and use the tools to find the facts you need. The tools:\n";
  for (const auto& t : tools) s += "- " + t.description + "\n";
  s += "In each step write a thought and one action, then stop:\n"
       "Thought: what you need to find next\n"
       "Action: TOOL[INPUT]\n"
       "The tool's reply comes back as \"Observation: ...\". When you know the answer, write:\n"
       "Thought: why this is the answer\n"
       "Final Answer: the answer, as short as possible (a name, a number, a date)\n"
       "For example, for \"Where was the author of Blue Fields born?\":\n"
       "Thought: I need the author of Blue Fields.\n"
       "Action: " +
       (tools.empty() ? std::string("search") : tools[0].name) +
       "[author of Blue Fields]\n"
       "Observation: Blue Fields is a novel by Ann Roe.\n"
       "Thought: Now I need where Ann Roe was born.\n"
       "Action: " +
       (tools.empty() ? std::string("search") : tools[0].name) +
       "[Ann Roe born]\n"
       "Observation: Ann Roe was born in Linz.\n"
       "Thought: Ann Roe, the author, was born in Linz.\n"
       "Final Answer: Linz";
  return s;
}

std::optional<ReactAction> parse_react_action(std::string_view step) {
  const auto at = step.find("Action:");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view line = step.substr(at + 7, line_end(step, at) - at - 7);
  const auto open = line.find_first_of("[(");
  if (open != std::string_view::npos) {
    const char close_char = line[open] == '[' ? ']' : ')';
    const auto close = line.rfind(close_char);
    ReactAction a{
        trim(line.substr(0, open)),
        trim(line.substr(open + 1,
                         (close == std::string_view::npos || close < open ? line.size() : close) - open - 1),
             " \t\"'")};
    if (!a.name.empty()) return a;
    return std::nullopt;
  }
  ReactAction a{trim(line), {}};
  if (a.name.empty()) return std::nullopt;
  const auto input = step.find("Action Input:", at);
  if (input != std::string_view::npos)
    a.input = trim(step.substr(input + 13, line_end(step, input) - input - 13), " \t\r\"'");
  return a;
}

std::string cut_react_step(std::string_view generated) {
  const auto action = generated.find("Action:"), answer = generated.find("Answer:");
  std::size_t end = generated.size();
  if (answer != std::string_view::npos && (action == std::string_view::npos || answer < action)) {
    end = line_end(generated, answer);
  } else if (action != std::string_view::npos) {
    end = line_end(generated, action);
    const auto input = generated.find("Action Input:", end);
    const auto next = generated.find_first_not_of(" \t\r\n", end);
    if (input != std::string_view::npos && input == next) end = line_end(generated, input);
  }
  return trim(generated.substr(0, end));
}

AgentResult run_react_agent(Engine& engine, LogLibrary* library, const std::string& question,
                            const std::vector<AgentTool>& tools, const ReactOptions& options) {
  AgentResult result;
  result.trace.task = question;
  std::vector<Message>& messages = result.trace.messages;
  messages.push_back(
      {"system", options.system_prompt.empty() ? react_system_prompt(tools) : options.system_prompt});
  messages.push_back({"user", question});
  std::set<LogId> taken;
  add_retrieved_logs(library, question, options.mode, options.logs_per_query, options.max_logs, taken,
                     result.logs, nullptr);

  GenerateOptions gen;
  gen.max_tokens = options.max_step_tokens;
  gen.sampling = options.sampling;
  gen.stop_strings = {"Observation:"};  // the model must not write the tool's reply itself

  const auto step_prefix = engine.tokenizer().encode(options.step_prefix, false, false);
  for (std::uint32_t step = 0; step < options.max_steps; ++step) {
    const auto turn = run_agent_turn(engine, library, options.mode, messages, step_prefix, gen, result,
                                     options.augmentation.applies(step) ? &options.augmentation : nullptr);
    if (!turn) break;
    result.latents += turn->latents;
    const GenerateResult& out = turn->out;

    AgentStep s;
    s.output = cut_react_step(options.step_prefix + out.text);
    s.time_to_first_token_ms = turn->time_to_first_token_ms;
    messages.push_back({"assistant", s.output});
    const auto answer = parse_react_answer(s.output);
    const auto action = answer ? std::nullopt : parse_react_action(s.output);
    if (answer) {
      result.answer = answer;
      result.steps.push_back(std::move(s));
      break;
    }
    if (action) s.call = ToolCall{action->name, {action->input}};
    s.observation = react_observation(tools, action);
    messages.push_back({"user", "Observation: " + s.observation});
    // The step's query: what the action looks up, else what the step says.
    add_retrieved_logs(library, action && !action->input.empty() ? action->input : s.output, options.mode,
                       options.logs_per_query, options.max_logs, taken, result.logs, &s.new_logs);
    result.steps.push_back(std::move(s));
  }
  return result;
}

}  // namespace lagvk::lag
