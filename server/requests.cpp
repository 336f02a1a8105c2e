#include "server/requests.hpp"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "server/api_error.hpp"

namespace lagvk::server {
namespace {

using nlohmann::json;

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

std::vector<cpp::Message> messages_field(const json& j) {
  const json* f = field(j, "messages");
  if (!f) throw bad_request("missing_required_parameter", "'messages' is required", "messages");
  if (!f->is_array()) wrong_type("messages", "an array of messages");
  if (f->empty()) throw bad_request("invalid_value", "'messages' must hold at least one message", "messages");
  std::vector<cpp::Message> messages;
  for (std::size_t i = 0; i < f->size(); ++i) {
    const json& m = (*f)[i];
    if (!m.is_object()) wrong_type("messages[" + std::to_string(i) + "]", "an object");
    messages.push_back({message_role(m, i), message_content(m, i)});
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

}  // namespace

ChatRequest parse_chat_request(std::string_view body) {
  const json j = parse_object(body);
  ChatRequest r;
  r.model = string_field(j, "model");
  r.messages = messages_field(j);
  r.sampling = sampling_fields(j);
  r.stream = bool_field(j, "stream");
  r.include_usage = include_usage_field(j);
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
