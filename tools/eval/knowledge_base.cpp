#include "tools/eval/knowledge_base.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"

namespace lagvk::lag {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace

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
