#pragma once
// The flags of the general ReAct agent (lagvk ask --react): its tools (--docs, --tool NAME=COMMAND, the
// multihop lookup with --kb) and the external tools' limit (--tool-timeout).
#include <memory>
#include <vector>

#include "engine/lag/doc_search.hpp"
#include "engine/lag/react_agent.hpp"
#include "engine/lag/tools.hpp"
#include "tools/lagvk/args.hpp"

namespace lagvk::cli {

[[nodiscard]] std::vector<OptionSpec> react_option_specs();
/// Whether the command line asks for the ReAct agent (--react, or one of its tool flags).
[[nodiscard]] bool wants_react(const Args& args);

/// The tools and what they read (the collection, the knowledge base), alive as long as this is.
struct ReactTools {
  std::unique_ptr<lag::DocCollection> docs;
  std::unique_ptr<lag::Tool> lookup;
  std::vector<lag::AgentTool> tools;
};
/// Reads the tool flags (every value checked before anything runs); at least one tool is required.
[[nodiscard]] ReactTools react_tools_from(const Args& args);

}  // namespace lagvk::cli
