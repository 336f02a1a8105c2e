#pragma once
// The agent demo's tool: a lookup over a JSON knowledge base of (subject, relation, object) facts
// (assets/kb/demo.json, or a multihop suite's world.json): lookup(relation, entity) -> "entity relation
// object", or a message saying there is none.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/lag/tools.hpp"

namespace lagvk::lag {

class KnowledgeBaseLookup : public Tool {
 public:
  /// Loads {"facts": [{"subject", "relation", "object"}...]}; errors name the file and the problem.
  [[nodiscard]] static std::unique_ptr<KnowledgeBaseLookup> load(const std::string& path);
  explicit KnowledgeBaseLookup(std::map<std::pair<std::string, std::string>, std::string> facts);

  [[nodiscard]] std::string name() const override { return "lookup"; }
  [[nodiscard]] std::string call(const std::vector<std::string>& args) const override;
  [[nodiscard]] std::size_t size() const { return facts_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, std::string>
      facts_;  ///< (relation, lowercase subject) -> object
};

}  // namespace lagvk::lag
