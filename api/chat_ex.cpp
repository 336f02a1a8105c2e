// Chats with tools (lagvk_chat_*_ex): OpenAI-shaped messages (tool calls as JSON, tool results) and tool
// definitions rendered by the engine's chat templates, plus an assistant prefix that forces the answer's
// opening (lagvk serve's tool_choice). Rendering, tokenizing and generating share one path, so the ids
// lagvk_chat_tokenize_ex returns are exactly those lagvk_chat_ex generates after.
#include <nlohmann/json.hpp>

#include "api/model_access.hpp"
#include "engine/tokenizer/jinja_json.hpp"

namespace lagvk::api {
namespace {

/// An assistant's calls from OpenAI's tool_calls array.
std::vector<ChatToolCall> tool_calls_of(std::string_view text, std::size_t message) {
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array())
    fail(Errc::invalid_argument, "message {}: tool_calls_json is not a JSON array of calls", message);
  std::vector<ChatToolCall> calls;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& call = j[i];
    const auto* function = call.is_object() && call.contains("function") ? &call["function"] : nullptr;
    if (!function || !function->is_object() || !function->contains("name") ||
        !(*function)["name"].is_string())
      fail(Errc::invalid_argument, "message {}: tool call {} has no function name", message, i);
    const auto args = function->value("arguments", nlohmann::ordered_json::object());
    if (!args.is_string() && !args.is_object())
      fail(Errc::invalid_argument,
           "message {}: the arguments of tool call {} are neither JSON text nor an object", message, i);
    calls.push_back({call.value("id", ""), (*function)["name"].get<std::string>(),
                     // An object is written as the templates' tojson would write it.
                     args.is_string() ? args.get<std::string>() : jinja_tojson(args)});
  }
  return calls;
}

}  // namespace

std::vector<ChatMessage> chat_messages_ex(const lagvk_chat_message* messages, std::size_t n) {
  if (messages == nullptr && n > 0) throw Error(Errc::invalid_argument, "messages is NULL");
  std::vector<ChatMessage> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const lagvk_chat_message& m = messages[i];
    if (m.role == nullptr) fail(Errc::invalid_argument, "message {} has a NULL role", i);
    const std::string_view role = m.role;
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      fail(Errc::invalid_argument, "message {} has the role '{}': use system, user, assistant or tool", i,
           role);
    ChatMessage c{std::string(role), m.content ? m.content : ""};
    if (m.tool_calls_json) c.tool_calls = tool_calls_of(m.tool_calls_json, i);
    if (m.tool_call_id) c.tool_call_id = m.tool_call_id;
    out.push_back(std::move(c));
  }
  return out;
}

ChatText render_chat_ex(Engine& engine, std::span<const ChatMessage> chat, const lagvk_chat_params* params) {
  require(params, "params");
  ChatText text = render_chat_segments(engine.chat_template(), chat, params->add_generation_prompt != 0,
                                       params->tools_json ? params->tools_json : "");
  if (params->assistant_prefix && *params->assistant_prefix) {
    if (!text.empty() && text.back().markup)
      text.back().text += params->assistant_prefix;
    else
      text.push_back({params->assistant_prefix, true});
  }
  return text;
}

namespace {

ChatText render_ex(const LockedModel& m, const lagvk_chat_message* messages, std::size_t n,
                   const lagvk_chat_params* params) {
  require(params, "params");
  return render_chat_ex(m.engine(), chat_messages_ex(messages, n), params);
}

std::vector<std::int32_t> prompt_ids(const LockedModel& m, const ChatText& text) {
  const Tokenizer& tok = m.engine().tokenizer();
  return encode_chat(tok, text, tok.add_bos_by_default());
}

}  // namespace
}  // namespace lagvk::api

using namespace lagvk;

extern "C" {

lagvk_chat_params lagvk_chat_params_default(void) {
  lagvk_chat_params p{};
  p.add_generation_prompt = 1;
  return p;
}

lagvk_status lagvk_chat_render_ex(lagvk_model* model, const lagvk_chat_message* messages, size_t n_messages,
                                  const lagvk_chat_params* params, char* text, size_t capacity, size_t* len) {
  return api::guarded([&]() -> lagvk_status {
    const api::LockedModel m(model, "model");
    return api::copy_text(joined(api::render_ex(m, messages, n_messages, params)), text, capacity, len);
  });
}

lagvk_status lagvk_chat_tokenize_ex(lagvk_model* model, const lagvk_chat_message* messages, size_t n_messages,
                                    const lagvk_chat_params* params, int32_t* tokens, size_t capacity,
                                    size_t* n_tokens) {
  return api::guarded([&]() -> lagvk_status {
    const api::LockedModel m(model, "model");
    api::require(n_tokens, "n_tokens");
    if (tokens == nullptr && capacity > 0)
      throw Error(Errc::invalid_argument, "tokens is NULL but capacity is not 0");
    const auto ids = api::prompt_ids(m, api::render_ex(m, messages, n_messages, params));
    *n_tokens = ids.size();
    if (ids.size() > capacity)
      return api::set_error(
          LAGVK_ERROR_BUFFER_TOO_SMALL,
          fmt::format("the chat has {} tokens but the buffer holds {}", ids.size(), capacity));
    std::copy(ids.begin(), ids.end(), tokens);
    return LAGVK_OK;
  });
}

lagvk_status lagvk_chat_ex(lagvk_model* model, const lagvk_chat_message* messages, size_t n_messages,
                           const lagvk_chat_params* params, const lagvk_generate_params* generate,
                           lagvk_completion** out) {
  return api::guarded([&] {
    api::clear_output(out);
    api::LockedModel m(model, "model");
    api::require(generate, "generate");
    const auto ids = api::prompt_ids(m, api::render_ex(m, messages, n_messages, params));
    api::run_generation(m, ids, *generate, out);
  });
}

}  // extern "C"
