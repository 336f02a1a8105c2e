#include "engine/lag/tools.hpp"

namespace lagvk::lag {

namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n\"'");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n\"'");
  return std::string(s.substr(b, e - b + 1));
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

}  // namespace lagvk::lag
