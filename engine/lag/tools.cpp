#include "engine/lag/tools.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"

namespace lagvk::lag {

namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n\"'");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n\"'");
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace

std::string ToolCall::to_string() const {
  std::string s = name + "(";
  for (std::size_t i = 0; i < args.size(); ++i) s += (i ? ", " : "") + args[i];
  return s + ")";
}

std::optional<ToolCall> parse_tool_call(std::string_view text) {
  const auto at = text.rfind("Action:");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = text.substr(at + 7);
  const auto open = rest.find('('), close = rest.find(')', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  ToolCall call{trim(rest.substr(0, open)), {}};
  if (call.name.empty()) return std::nullopt;
  std::string_view args = rest.substr(open + 1, close - open - 1);
  while (!args.empty()) {
    const auto comma = args.find(',');
    call.args.push_back(trim(args.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    args.remove_prefix(comma + 1);
  }
  return call;
}

std::optional<std::string> parse_answer(std::string_view text) {
  const auto at = text.rfind("Answer:");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + 7);
  rest = rest.substr(0, rest.find('\n'));
  return trim(rest);
}

std::unique_ptr<KnowledgeBaseLookup> KnowledgeBaseLookup::load(const std::string& path) {
  const auto j = nlohmann::json::parse(read_regular_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("facts") || !j["facts"].is_array())
    fail("knowledge base '{}' must be a JSON object with a \"facts\" array", path);
  std::map<std::pair<std::string, std::string>, std::string> facts;
  for (std::size_t i = 0; i < j["facts"].size(); ++i) {
    const auto& f = j["facts"][i];
    if (!f.is_object() || !f.contains("subject") || !f.contains("relation") || !f.contains("object") ||
        !f["subject"].is_string() || !f["relation"].is_string() || !f["object"].is_string())
      fail("knowledge base '{}': fact {} needs string fields subject, relation and object", path, i);
    facts[{lower(f["relation"].get<std::string>()), lower(f["subject"].get<std::string>())}] =
        f["object"].get<std::string>();
  }
  return std::make_unique<KnowledgeBaseLookup>(std::move(facts));
}

KnowledgeBaseLookup::KnowledgeBaseLookup(std::map<std::pair<std::string, std::string>, std::string> facts)
    : facts_(std::move(facts)) {}

std::string KnowledgeBaseLookup::call(const std::vector<std::string>& args) const {
  if (args.size() != 2) return "lookup needs two arguments: lookup(relation, entity)";
  const auto it = facts_.find({lower(args[0]), lower(args[1])});
  // The answer states the fact in the words the agent restates it with ("subject relation object"), so
  // the model reads a tool answer and a fact in a log the same way.
  if (it == facts_.end()) return fmt::format("no fact {} {}", args[1], args[0]);
  return fmt::format("{} {} {}", args[1], args[0], it->second);
}

}  // namespace lagvk::lag
