#include "tools/lagvk/react_flags.hpp"

#include "engine/core/error.hpp"
#include "tools/eval/knowledge_base.hpp"

namespace lagvk::cli {

std::vector<OptionSpec> react_option_specs() {
  return {
      {"--react", "", "",
       "run the general ReAct agent (chat template, multi-line steps, tools below; step limit 8)", ""},
      {"--docs", "", "FILE",
       "ReAct: the built-in search tool over these passages (JSON Lines: id, title, text; BM25)", ""},
      {"--tool", "", "NAME=COMMAND",
       "ReAct: an external tool (repeatable): COMMAND gets {\"tool\", \"input\"} as JSON on stdin and prints "
       "{\"output\": ...} or {\"error\": ...}",
       ""},
      {"--tool-timeout", "", "MS", "ReAct: an external tool call is killed after MS milliseconds", "10000"}};
}

bool wants_react(const Args& args) {
  return args.has("--react") || args.has("--docs") || args.has("--tool");
}

ReactTools react_tools_from(const Args& args) {
  ReactTools out;
  lag::ExternalToolLimits limits;
  limits.timeout =
      std::chrono::milliseconds(args.get_int("--tool-timeout", limits.timeout.count(), 1, 3600000));
  std::vector<lag::ExternalToolSpec> specs;
  for (const auto& spec : args.get_all("--tool")) specs.push_back(lag::parse_external_tool_spec(spec));
  if (auto docs = args.get("--docs")) {
    out.docs = std::make_unique<lag::DocCollection>(lag::DocCollection::load(*docs));
    out.tools.push_back(lag::search_tool(*out.docs));
  }
  if (auto kb = args.get("--kb")) {
    out.lookup = lag::KnowledgeBaseLookup::load(*kb);
    out.tools.push_back(lag::builtin_tool(
        *out.lookup, "lookup[RELATION, ENTITY] gives the ENTITY's RELATION from the knowledge base"));
  }
  for (const auto& spec : specs) {
    for (const auto& t : out.tools)
      if (t.name == spec.name)
        fail(Errc::invalid_argument, "--tool {}: a tool of that name is already given (names must differ)",
             spec.name);
    out.tools.push_back(lag::external_tool(spec, limits));
  }
  if (out.tools.empty())
    fail(Errc::invalid_argument,
         "ask --react: give the agent a tool (--docs PASSAGES.jsonl, --tool NAME=COMMAND or --kb FILE)");
  return out;
}

}  // namespace lagvk::cli
