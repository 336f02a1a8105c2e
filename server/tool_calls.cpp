#include "server/tool_calls.hpp"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

namespace lagvk::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kSpace = " \t\r\n";
constexpr std::string_view kQwenOpen = "<tool_call>", kQwenClose = "</tool_call>";

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_qwen(std::string_view format) {
  return format == "qwen3" || format == "chatml";
}

bool declared(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// {"name": NAME, ARGUMENTS_KEY: {...}} of a declared tool, or nothing.
std::optional<ParsedToolCall> call_of(std::string_view text, const char* arguments_key,
                                      const std::vector<std::string>& names) {
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto name = j.find("name");
  const auto args = j.find(arguments_key);
  if (name == j.end() || !name->is_string() || !declared(names, name->get<std::string>()))
    return std::nullopt;
  if (args != j.end() && !args->is_object()) return std::nullopt;
  return ParsedToolCall{name->get<std::string>(), args == j.end() ? "{}" : args->dump()};
}

/// Qwen: text, then <tool_call> blocks separated by whitespace; the last block's closing tag may be missing
/// (the model ended its turn right after the JSON).
std::optional<ParsedReply> parse_qwen(std::string_view text, const std::vector<std::string>& names) {
  const auto first = text.find(kQwenOpen);
  if (first == std::string_view::npos) return std::nullopt;
  ParsedReply reply{std::string(trim(text.substr(0, first))), {}};
  std::string_view rest = text.substr(first);
  while (!rest.empty()) {
    if (!rest.starts_with(kQwenOpen)) return std::nullopt;
    rest.remove_prefix(kQwenOpen.size());
    const auto close = rest.find(kQwenClose);
    const auto call = call_of(trim(rest.substr(0, close)), "arguments", names);
    if (!call) return std::nullopt;
    reply.calls.push_back(*call);
    rest =
        close == std::string_view::npos ? std::string_view() : trim(rest.substr(close + kQwenClose.size()));
  }
  return reply;
}

/// Llama 3.1: the whole answer is one JSON call ("parameters", or "arguments" as some fine-tunes write).
std::optional<ParsedReply> parse_llama31(std::string_view text, const std::vector<std::string>& names) {
  std::string_view body = trim(text);
  if (body.starts_with("<|python_tag|>")) body = trim(body.substr(14));
  auto call = call_of(body, "parameters", names);
  if (!call) call = call_of(body, "arguments", names);
  if (!call) return std::nullopt;
  return ParsedReply{"", {*call}};
}

}  // namespace

bool format_has_tools(std::string_view chat_format) {
  return is_qwen(chat_format) || chat_format == "llama31";
}

std::string forced_prefix(std::string_view chat_format, const ToolChoice& choice) {
  using Mode = ToolChoice::Mode;
  if (choice.mode == Mode::none || choice.mode == Mode::automatic) return "";
  const bool named = choice.mode == Mode::named;
  const std::string name = Json(choice.name).dump();  // the name as a JSON string, quotes included
  if (is_qwen(chat_format))
    return named ? "<tool_call>\n{\"name\": " + name + ", \"arguments\": " : "<tool_call>\n";
  if (chat_format == "llama31") return named ? "{\"name\": " + name + ", \"parameters\": " : "{\"name\": \"";
  return "";
}

ParsedReply parse_reply(std::string_view chat_format, std::string_view text,
                        const std::vector<std::string>& tool_names) {
  std::optional<ParsedReply> parsed;
  if (is_qwen(chat_format)) parsed = parse_qwen(text, tool_names);
  if (chat_format == "llama31") parsed = parse_llama31(text, tool_names);
  if (parsed) return *parsed;
  return ParsedReply{std::string(text), {}};
}

}  // namespace lagvk::server
