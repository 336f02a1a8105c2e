#include "server/requests.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "server/api_error.hpp"

namespace lagvk::server {
namespace {

// Ordered: a request's tools reach the model with their keys in the order the client wrote them.
using json = nlohmann::ordered_json;

json parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    throw bad_request("invalid_json", "the request body is not valid JSON: send one JSON object");
  if (!j.is_object()) throw bad_request("invalid_json", "the request body must be a JSON object");
  return j;
}

/// The field, or nullptr when it is absent or null (OpenAI's clients send null for "not set").
const json* field(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong_type(const std::string& name, const char* expected) {
  throw bad_request("invalid_type", "'" + name + "' must be " + expected, name);
}

std::string string_field(const json& j, const char* name) {
  const json* f = field(j, name);
  if (!f) return "";
  if (!f->is_string()) wrong_type(name, "a string");
  return f->get<std::string>();
}

bool bool_field(const json& j, const char* name) {
  const json* f = field(j, name);
  if (!f) return false;
  if (!f->is_boolean()) wrong_type(name, "true or false");
  return f->get<bool>();
}

std::optional<float> number_field(const json& j, const char* name, double min, double max,
                                  bool min_exclusive) {
  const json* f = field(j, name);
  if (!f) return std::nullopt;
  if (!f->is_number()) wrong_type(name, "a number");
  const double v = f->get<double>();
  if (!std::isfinite(v) || v > max || v < min || (min_exclusive && v == min))
    throw bad_request("invalid_value",
                      "'" + std::string(name) + "' is " + f->dump() + ": it must be " +
                          (min_exclusive ? "above " : "from ") + json(min).dump() + " to " + json(max).dump(),
                      name);
  return float(v);
}

std::optional<std::uint32_t> max_tokens_field(const json& j) {
  // max_completion_tokens is the newer name of the same limit; either may be sent.
  const char* name = field(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const json* f = field(j, name);
  if (!f) return std::nullopt;
  if (!f->is_number_integer()) wrong_type(name, "an integer");
  const std::int64_t v =
      f->is_number_unsigned()
          ? std::int64_t(std::min<std::uint64_t>(f->get<std::uint64_t>(), std::uint64_t(1) << 32))
          : f->get<std::int64_t>();
  if (v < 1 || v > std::numeric_limits<std::uint32_t>::max())
    throw bad_request("invalid_value",
                      "'" + std::string(name) + "' is " + f->dump() + ": it must be at least 1", name);
  return std::uint32_t(v);
}

std::optional<std::uint64_t> seed_field(const json& j) {
  const json* f = field(j, "seed");
  if (!f) return std::nullopt;
  if (!f->is_number_integer()) wrong_type("seed", "an integer");
  // A negative seed is as good a seed as any: its two's complement bits.
  return f->is_number_unsigned() ? f->get<std::uint64_t>() : std::uint64_t(f->get<std::int64_t>());
}

std::vector<std::string> stop_field(const json& j) {
  const json* f = field(j, "stop");
  if (!f) return {};
  std::vector<std::string> stops;
  if (f->is_string()) {
    stops.push_back(f->get<std::string>());
  } else if (f->is_array()) {
    for (const json& s : *f) {
      if (!s.is_string()) wrong_type("stop", "a string or an array of strings");
      stops.push_back(s.get<std::string>());
    }
  } else {
    wrong_type("stop", "a string or an array of strings");
  }
  if (stops.size() > kMaxStopStrings)
    throw bad_request("invalid_value",
                      "'stop' has " + std::to_string(stops.size()) + " strings: at most " +
                          std::to_string(kMaxStopStrings) + " are allowed",
                      "stop");
  for (const auto& s : stops)
    if (s.empty()) throw bad_request("invalid_value", "'stop' strings must not be empty", "stop");
  return stops;
}

Sampling sampling_fields(const json& j) {
  if (const json* n = field(j, "n"); n && (!n->is_number_integer() || n->get<std::int64_t>() != 1))
    throw bad_request("unsupported_value", "'n' must be 1: the server returns one choice per request", "n");
  Sampling s;
  s.max_tokens = max_tokens_field(j);
  s.temperature = number_field(j, "temperature", 0, 2, false);
  s.top_p = number_field(j, "top_p", 0, 1, true);
  s.seed = seed_field(j);
  s.stop = stop_field(j);
  if (field(j, "cache_prompt")) s.cache_prompt = bool_field(j, "cache_prompt");
  return s;
}

bool include_usage_field(const json& j) {
  const json* options = field(j, "stream_options");
  if (!options) return false;
  if (!options->is_object()) wrong_type("stream_options", "an object");
  return bool_field(*options, "include_usage");
}

/// A message's content: a string, or an array of parts of which the text ones count (OpenAI's newer form).
std::string message_content(const json& message, std::size_t index) {
  const std::string name = "messages[" + std::to_string(index) + "].content";
  const json* content = field(message, "content");
  if (!content) return "";  // an assistant turn that only called tools
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) wrong_type(name, "a string or an array of content parts");
  std::string text;
  for (const json& part : *content) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
        !part["text"].is_string())
      throw bad_request("unsupported_value",
                        name + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported", name);
    text += part["text"].get<std::string>();
  }
  return text;
}

std::string message_role(const json& message, std::size_t index) {
  const std::string name = "messages[" + std::to_string(index) + "].role";
  const json* role = field(message, "role");
  if (!role) throw bad_request("missing_required_parameter", "'" + name + "' is required", name);
  if (!role->is_string()) wrong_type(name, "a string");
  const std::string r = role->get<std::string>();
  if (r == "developer") return "system";  // OpenAI's newer name for the system role
  if (r != "system" && r != "user" && r != "assistant" && r != "tool")
    throw bad_request("invalid_value", "'" + name + "' is '" + r + "': use system, user, assistant or tool",
                      name);
  return r;
}

/// An assistant message's tool_calls, checked and kept as JSON for the library.
std::string tool_calls_field(const json& message, std::size_t index) {
  const std::string name = "messages[" + std::to_string(index) + "].tool_calls";
  const json* calls = field(message, "tool_calls");
  if (!calls) return "";
  if (!calls->is_array()) wrong_type(name, "an array of tool calls");
  if (calls->empty()) return "";
  for (std::size_t i = 0; i < calls->size(); ++i) {
    const json& call = (*calls)[i];
    const std::string at = name + "[" + std::to_string(i) + "]";
    const json* function = call.is_object() ? field(call, "function") : nullptr;
    if (!function || !function->is_object())
      throw bad_request("invalid_value", "'" + at + "' must be {\"type\": \"function\", \"function\": {...}}",
                        name);
    if (!field(*function, "name") || !(*function)["name"].is_string())
      throw bad_request("missing_required_parameter", "'" + at + ".function.name' is required", name);
    const json* args = field(*function, "arguments");
    if (args && !args->is_string() && !args->is_object())
      wrong_type(at + ".function.arguments", "a JSON string");
  }
  return calls->dump();
}

std::vector<cpp::ChatMessage> messages_field(const json& j) {
  const json* f = field(j, "messages");
  if (!f) throw bad_request("missing_required_parameter", "'messages' is required", "messages");
  if (!f->is_array()) wrong_type("messages", "an array of messages");
  if (f->empty()) throw bad_request("invalid_value", "'messages' must hold at least one message", "messages");
  std::vector<cpp::ChatMessage> messages;
  for (std::size_t i = 0; i < f->size(); ++i) {
    const json& m = (*f)[i];
    if (!m.is_object()) wrong_type("messages[" + std::to_string(i) + "]", "an object");
    cpp::ChatMessage message{message_role(m, i), message_content(m, i), "", ""};
    if (message.role == "assistant") message.tool_calls_json = tool_calls_field(m, i);
    if (message.role == "tool") message.tool_call_id = string_field(m, "tool_call_id");
    messages.push_back(std::move(message));
  }
  return messages;
}

std::vector<std::int32_t> token_ids(const json& array) {
  std::vector<std::int32_t> ids;
  for (const json& t : array) {
    if (!t.is_number_integer() || t.get<std::int64_t>() < 0 ||
        t.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max())
      throw bad_request("invalid_value", "'prompt' token ids must be integers from 0 to the vocabulary size",
                        "prompt");
    ids.push_back(std::int32_t(t.get<std::int64_t>()));
  }
  return ids;
}

std::variant<std::string, std::vector<std::int32_t>> prompt_field(const json& j) {
  const json* f = field(j, "prompt");
  if (!f) throw bad_request("missing_required_parameter", "'prompt' is required", "prompt");
  if (f->is_string()) return f->get<std::string>();
  if (!f->is_array()) wrong_type("prompt", "a string or an array of token ids");
  if (f->empty()) throw bad_request("invalid_value", "'prompt' must not be empty", "prompt");
  // One prompt per request: a one-element batch ["text"] or [[ids]] is accepted as that prompt.
  if (f->size() == 1 && (*f)[0].is_string()) return (*f)[0].get<std::string>();
  if (f->size() == 1 && (*f)[0].is_array()) return token_ids((*f)[0]);
  if ((*f)[0].is_string() || (*f)[0].is_array())
    throw bad_request("unsupported_value", "'prompt' holds several prompts: send one per request", "prompt");
  return token_ids(*f);
}

/// OpenAI's rule for function names: letters, digits, '_' and '-', at most 64 (they reach the prompt).
bool valid_function_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

/// "tools": function tools, each {"type": "function", "function": {"name", "description", "parameters"}}.
void tools_field(const json& j, ChatRequest& r) {
  const json* f = field(j, "tools");
  if (!f) return;
  if (!f->is_array()) wrong_type("tools", "an array of tools");
  if (f->size() > kMaxTools)
    throw bad_request("invalid_value",
                      "'tools' declares " + std::to_string(f->size()) + " tools: at most " +
                          std::to_string(kMaxTools) + " are allowed",
                      "tools");
  for (std::size_t i = 0; i < f->size(); ++i) {
    const json& tool = (*f)[i];
    const std::string at = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object()) wrong_type(at, "an object");
    if (string_field(tool, "type") != "function")
      throw bad_request("unsupported_value", "'" + at + ".type' must be \"function\"", "tools");
    const json* function = field(tool, "function");
    if (!function || !function->is_object()) wrong_type(at + ".function", "an object");
    const std::string name = string_field(*function, "name");
    if (!valid_function_name(name))
      throw bad_request("invalid_value",
                        "'" + at + ".function.name' must be 1 to 64 letters, digits, '_' or '-'", "tools");
    ToolSpec spec{name, {}};
    if (const json* p = field(*function, "parameters")) {
      if (!p->is_object()) wrong_type(at + ".function.parameters", "a JSON schema object");
      if (const json* properties = field(*p, "properties"); properties && properties->is_object())
        for (auto it = properties->begin(); it != properties->end(); ++it)
          spec.parameters.push_back(it.key());
    }
    r.tools.push_back(std::move(spec));
  }
  if (!f->empty()) r.tools_json = f->dump();
}

/// "tool_choice": "none" | "auto" | "required" | {"type": "function", "function": {"name": ...}}.
ToolChoice tool_choice_field(const json& j, const std::vector<ToolSpec>& tools) {
  const json* f = field(j, "tool_choice");
  ToolChoice choice;
  if (!f) return choice;
  if (f->is_string()) {
    const std::string mode = f->get<std::string>();
    if (mode == "none")
      choice.mode = ToolChoice::Mode::none;
    else if (mode == "auto")
      choice.mode = ToolChoice::Mode::automatic;
    else if (mode == "required")
      choice.mode = ToolChoice::Mode::required;
    else
      throw bad_request("invalid_value", "'tool_choice' must be none, auto, required or a function",
                        "tool_choice");
  } else if (f->is_object()) {
    const json* function = field(*f, "function");
    if (string_field(*f, "type") != "function" || !function || !function->is_object())
      throw bad_request("invalid_value",
                        "'tool_choice' must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                        "tool_choice");
    choice.mode = ToolChoice::Mode::named;
    choice.name = string_field(*function, "name");
  } else {
    wrong_type("tool_choice", "a string or an object");
  }
  if (choice.mode != ToolChoice::Mode::none && choice.mode != ToolChoice::Mode::automatic && tools.empty())
    throw bad_request("invalid_value", "'tool_choice' asks for a tool call but 'tools' declares none",
                      "tool_choice");
  if (choice.mode == ToolChoice::Mode::named &&
      std::none_of(tools.begin(), tools.end(), [&](const ToolSpec& t) { return t.name == choice.name; }))
    throw bad_request("invalid_value",
                      "'tool_choice' names '" + choice.name + "', which 'tools' does not declare",
                      "tool_choice");
  return choice;
}

/// A short string of the `lag` object (a task id, a tag): non-empty, at most kMaxLagTextBytes.
std::string lag_text(const json& value, const std::string& name) {
  if (!value.is_string()) wrong_type(name, "a string");
  std::string s = value.get<std::string>();
  if (s.empty() || s.size() > kMaxLagTextBytes)
    throw bad_request("invalid_value",
                      "'" + name + "' must be 1 to " + std::to_string(kMaxLagTextBytes) + " bytes long",
                      name);
  return s;
}

std::optional<LagRequest> lag_field(const json& j) {
  const json* f = field(j, "lag");
  if (!f) return std::nullopt;
  if (!f->is_object())
    wrong_type("lag", "an object: {\"k\", \"max_logs\", \"mode\", \"task_id\", \"save\", \"tags\"}");
  LagRequest r;
  if (const json* k = field(*f, "k")) {
    if (!k->is_number_integer()) wrong_type("lag.k", "an integer");
    if (k->get<std::int64_t>() < 0 || k->get<std::int64_t>() > std::int64_t(kMaxLagK))
      throw bad_request("invalid_value",
                        "'lag.k' is " + k->dump() + ": it must be from 0 to " + std::to_string(kMaxLagK),
                        "lag.k");
    r.k = std::uint32_t(k->get<std::int64_t>());
  }
  if (const json* m = field(*f, "max_logs")) {
    if (!m->is_number_integer()) wrong_type("lag.max_logs", "an integer");
    if (m->get<std::int64_t>() < 0 || m->get<std::int64_t>() > std::int64_t(kMaxLagK))
      throw bad_request(
          "invalid_value",
          "'lag.max_logs' is " + m->dump() + ": it must be from 0 (no cap) to " + std::to_string(kMaxLagK),
          "lag.max_logs");
    r.max_logs = std::uint32_t(m->get<std::int64_t>());
  }
  if (const json* mode = field(*f, "mode")) {
    if (*mode == "kv")
      r.mode = LAGVK_LOGS_KV;
    else if (*mode == "text")
      r.mode = LAGVK_LOGS_TEXT;
    else if (*mode == "none")
      r.mode = LAGVK_LOGS_NONE;
    else
      throw bad_request("invalid_value", "'lag.mode' must be \"kv\", \"text\" or \"none\"", "lag.mode");
  }
  if (const json* id = field(*f, "task_id")) r.task_id = lag_text(*id, "lag.task_id");
  r.save = bool_field(*f, "save");
  if (const json* tags = field(*f, "tags")) {
    if (!tags->is_array()) wrong_type("lag.tags", "an array of strings");
    if (tags->size() > kMaxLagTags)
      throw bad_request("invalid_value",
                        "'lag.tags' may hold at most " + std::to_string(kMaxLagTags) + " tags", "lag.tags");
    for (const json& t : *tags) r.tags.push_back(lag_text(t, "lag.tags"));
  }
  return r;
}

}  // namespace

namespace {

std::optional<AugmentRequest> augment_field(const json& j) {
  const json* f = field(j, "augment");
  if (!f || f->is_null() || *f == false) return std::nullopt;
  if (*f == true) return AugmentRequest{};
  if (!f->is_object()) wrong_type("augment", "true, false or an object: {\"latents\": N}");
  AugmentRequest r;
  if (const json* n = field(*f, "latents")) {
    if (!n->is_number_integer()) wrong_type("augment.latents", "an integer");
    if (n->get<std::int64_t>() < 0 || n->get<std::int64_t>() > std::int64_t(kMaxAugmentLatents))
      throw bad_request("invalid_value",
                        "'augment.latents' is " + n->dump() + ": it must be from 0 (the server's) to " +
                            std::to_string(kMaxAugmentLatents),
                        "augment.latents");
    r.latents = std::uint32_t(n->get<std::int64_t>());
  }
  return r;
}

}  // namespace

std::optional<AugmentRequest> parse_augment_field(std::string_view body) {
  return augment_field(parse_object(body));
}

ChatRequest parse_chat_request(std::string_view body) {
  const json j = parse_object(body);
  ChatRequest r;
  r.model = string_field(j, "model");
  r.messages = messages_field(j);
  tools_field(j, r);
  r.tool_choice = tool_choice_field(j, r.tools);
  r.sampling = sampling_fields(j);
  r.stream = bool_field(j, "stream");
  r.include_usage = include_usage_field(j);
  r.lag = lag_field(j);
  r.augment = augment_field(j);
  return r;
}

CompletionRequest parse_completion_request(std::string_view body) {
  const json j = parse_object(body);
  CompletionRequest r;
  r.model = string_field(j, "model");
  r.prompt = prompt_field(j);
  r.sampling = sampling_fields(j);
  r.stream = bool_field(j, "stream");
  r.include_usage = include_usage_field(j);
  return r;
}

EmbeddingRequest parse_embedding_request(std::string_view body) {
  const json j = parse_object(body);
  EmbeddingRequest r;
  r.model = string_field(j, "model");
  if (const json* f = field(j, "encoding_format")) {
    if (*f != "float" && *f != "base64")
      throw bad_request("invalid_value", "'encoding_format' must be \"float\" or \"base64\"",
                        "encoding_format");
    r.base64 = *f == "base64";
  }
  const json* input = field(j, "input");
  if (!input) throw bad_request("missing_required_parameter", "'input' is required", "input");
  if (input->is_string()) {
    r.input.push_back(input->get<std::string>());
  } else if (input->is_array() && !input->empty()) {
    for (const json& s : *input) {
      if (!s.is_string()) wrong_type("input", "a string or an array of strings");
      r.input.push_back(s.get<std::string>());
    }
  } else {
    wrong_type("input", "a string or a non-empty array of strings");
  }
  if (r.input.size() > kMaxEmbeddingInputs)
    throw bad_request("invalid_value",
                      "'input' has " + std::to_string(r.input.size()) + " texts: at most " +
                          std::to_string(kMaxEmbeddingInputs) + " per request",
                      "input");
  return r;
}

}  // namespace lagvk::server
