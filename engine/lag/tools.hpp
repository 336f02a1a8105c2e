#pragma once
// Tools an agent can call, and the call syntax the agent loop recognises in model output:
//   Action: name(arg1, arg2)
// The demo tool is a lookup over a JSON knowledge base of (subject, relation, object) facts
// (assets/kb/demo.json): lookup(relation, entity) -> "entity relation object", or a message saying
// there is none.
#include <map>
#include <memory>
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
