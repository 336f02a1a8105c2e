#include "server/tool_calls.hpp"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

namespace lagvk::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kSpace = " \t\r\n";
constexpr std::string_view kQwenOpen = "<tool_call>", kQwenClose = "</tool_call>";
constexpr std::string_view kPlainAction = "Action:";

/// Compact JSON text; bytes that are not UTF-8 (a model's output may hold any) become U+FFFD.
std::string compact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_qwen(std::string_view format) {
  return format == "qwen3" || format == "chatml";
}

const ToolSpec* declared(const std::vector<ToolSpec>& tools, std::string_view name) {
  const auto it = std::find_if(tools.begin(), tools.end(), [&](const ToolSpec& t) { return t.name == name; });
  return it == tools.end() ? nullptr : &*it;
}

/// {"name": NAME, ARGUMENTS_KEY: {...}} of a declared tool, or nothing.
std::optional<ParsedToolCall> call_of(std::string_view text, const char* arguments_key,
                                      const std::vector<ToolSpec>& tools) {
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto name = j.find("name");
  const auto args = j.find(arguments_key);
  if (name == j.end() || !name->is_string() || !declared(tools, name->get<std::string>()))
    return std::nullopt;
  if (args != j.end() && !args->is_object()) return std::nullopt;
  return ParsedToolCall{name->get<std::string>(), args == j.end() ? "{}" : compact(*args)};
}

/// Qwen: text, then <tool_call> blocks separated by whitespace; the last block's closing tag may be missing
/// (the model ended its turn right after the JSON).
std::optional<ParsedReply> parse_qwen(std::string_view text, const std::vector<ToolSpec>& tools) {
  const auto first = text.find(kQwenOpen);
  if (first == std::string_view::npos) return std::nullopt;
  ParsedReply reply{std::string(trim(text.substr(0, first))), {}};
  std::string_view rest = text.substr(first);
  while (!rest.empty()) {
    if (!rest.starts_with(kQwenOpen)) return std::nullopt;
    rest.remove_prefix(kQwenOpen.size());
    const auto close = rest.find(kQwenClose);
    const auto call = call_of(trim(rest.substr(0, close)), "arguments", tools);
    if (!call) return std::nullopt;
    reply.calls.push_back(*call);
    rest =
        close == std::string_view::npos ? std::string_view() : trim(rest.substr(close + kQwenClose.size()));
  }
  return reply;
}

/// Llama 3.1: the whole answer is one JSON call ("parameters", or "arguments" as some fine-tunes write).
std::optional<ParsedReply> parse_llama31(std::string_view text, const std::vector<ToolSpec>& tools) {
  std::string_view body = trim(text);
  if (body.starts_with("<|python_tag|>")) body = trim(body.substr(14));
  auto call = call_of(body, "parameters", tools);
  if (!call) call = call_of(body, "arguments", tools);
  if (!call) return std::nullopt;
  return ParsedReply{"", {*call}};
}

/// The multihop agent's format: text, then "Action: NAME(a, b)" ending the answer; the values are mapped
/// onto the tool's declared parameters in order (as many as it declares).
std::optional<ParsedReply> parse_plain(std::string_view text, const std::vector<ToolSpec>& tools) {
  const auto action = text.rfind(kPlainAction);
  if (action == std::string_view::npos) return std::nullopt;
  const std::string_view call = trim(text.substr(action + kPlainAction.size()));
  const auto open = call.find('(');
  if (open == std::string_view::npos || !call.ends_with(')')) return std::nullopt;
  const ToolSpec* tool = declared(tools, trim(call.substr(0, open)));
  if (!tool) return std::nullopt;
  std::vector<std::string_view> values;
  const std::string_view inside = trim(call.substr(open + 1, call.size() - open - 2));
  for (std::size_t at = 0; !inside.empty() && at <= inside.size();) {
    const auto comma = std::min(inside.find(',', at), inside.size());
    values.push_back(trim(inside.substr(at, comma - at)));
    at = comma + 1;
  }
  if (values.size() != tool->parameters.size()) return std::nullopt;
  Json arguments = Json::object();
  for (std::size_t i = 0; i < values.size(); ++i) arguments[tool->parameters[i]] = std::string(values[i]);
  return ParsedReply{std::string(trim(text.substr(0, action))), {{tool->name, compact(arguments)}}};
}

}  // namespace

bool format_has_tools(std::string_view chat_format) {
  return is_qwen(chat_format) || chat_format == "llama31" || chat_format == "plain";
}

std::string forced_prefix(std::string_view chat_format, const ToolChoice& choice) {
  using Mode = ToolChoice::Mode;
  if (choice.mode == Mode::none || choice.mode == Mode::automatic) return "";
  const bool named = choice.mode == Mode::named;
  const std::string name = Json(choice.name).dump();  // the name as a JSON string, quotes included
  if (is_qwen(chat_format))
    return named ? "<tool_call>\n{\"name\": " + name + ", \"arguments\": " : "<tool_call>\n";
  if (chat_format == "llama31") return named ? "{\"name\": " + name + ", \"parameters\": " : "{\"name\": \"";
  // The plain prompt ends with "Assistant:"; the model writes a space first.
  if (chat_format == "plain") return named ? " Action: " + choice.name + "(" : " Action: ";
  return "";
}

ParsedReply parse_reply(std::string_view chat_format, std::string_view text,
                        const std::vector<ToolSpec>& tools) {
  std::optional<ParsedReply> parsed;
  if (is_qwen(chat_format)) parsed = parse_qwen(text, tools);
  if (chat_format == "llama31") parsed = parse_llama31(text, tools);
  if (chat_format == "plain") parsed = parse_plain(text, tools);
  if (parsed) return *parsed;
  return ParsedReply{std::string(text), {}};
}

}  // namespace lagvk::server
