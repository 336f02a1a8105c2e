#include "server/openai_json.hpp"

#include <bit>
#include <cstring>

namespace lagvk::server {

using nlohmann::json;

namespace {

json optional_reason(std::optional<std::string_view> reason) {
  return reason ? json(std::string(*reason)) : json(nullptr);
}

std::string base64_of(const std::vector<float>& v) {
  static_assert(std::endian::native == std::endian::little, "embeddings are sent as little-endian floats");
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k) group = (group << 8) | (k < n ? std::uint8_t(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

}  // namespace

const char* finish_reason_of(lagvk_stop_reason reason) {
  switch (reason) {
    case LAGVK_STOP_END_OF_GENERATION:
    case LAGVK_STOP_STOP_STRING:
      return "stop";
    case LAGVK_STOP_MAX_TOKENS:
    case LAGVK_STOP_CONTEXT_FULL:
      return "length";
    case LAGVK_STOP_REASON_MAX_ENUM:
      break;
  }
  return "stop";
}

json usage_json(const Usage& usage) {
  // cached_tokens: reused from the previous request's cache (prefix reuse) or spliced from logs.
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

json chat_completion(const ResponseMeta& meta, std::string_view text, std::string_view finish_reason,
                     const Usage& usage) {
  return {{"id", meta.id},
          {"object", "chat.completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", std::string(text)}}},
                                    {"logprobs", nullptr},
                                    {"finish_reason", std::string(finish_reason)}}})},
          {"usage", usage_json(usage)}};
}

json chat_completion_message(const ResponseMeta& meta, const json& message, std::string_view finish_reason,
                             const Usage& usage) {
  json r = chat_completion(meta, "", finish_reason, usage);
  r["choices"][0]["message"] = message;
  return r;
}

json tool_call_json(std::string_view id, std::string_view name, std::string_view arguments) {
  return {{"id", std::string(id)},
          {"type", "function"},
          {"function", {{"name", std::string(name)}, {"arguments", std::string(arguments)}}}};
}

json tool_reply_message(const ParsedReply& reply, std::string_view call_id_prefix) {
  json message = {{"role", "assistant"}};
  message["content"] = reply.calls.empty() || !reply.content.empty() ? json(reply.content) : json(nullptr);
  if (reply.calls.empty()) return message;
  json calls = json::array();
  for (std::size_t i = 0; i < reply.calls.size(); ++i)
    calls.push_back(tool_call_json(std::string(call_id_prefix) + std::to_string(i), reply.calls[i].name,
                                   reply.calls[i].arguments));
  message["tool_calls"] = calls;
  return message;
}

std::vector<json> tool_reply_chunks(const ResponseMeta& meta, const ParsedReply& reply,
                                    std::string_view call_id_prefix, std::string_view finish_reason) {
  std::vector<json> chunks;
  if (!reply.content.empty()) chunks.push_back(chat_chunk(meta, {{"content", reply.content}}, std::nullopt));
  for (std::size_t i = 0; i < reply.calls.size(); ++i) {
    json opening = tool_call_json(std::string(call_id_prefix) + std::to_string(i), reply.calls[i].name, "");
    opening["index"] = i;
    chunks.push_back(chat_chunk(meta, {{"tool_calls", json::array({opening})}}, std::nullopt));
    const json arguments = {{"index", i}, {"function", {{"arguments", reply.calls[i].arguments}}}};
    chunks.push_back(chat_chunk(meta, {{"tool_calls", json::array({arguments})}}, std::nullopt));
  }
  chunks.push_back(chat_chunk(meta, json::object(), finish_reason));
  return chunks;
}

json chat_chunk(const ResponseMeta& meta, const json& delta, std::optional<std::string_view> finish_reason) {
  return {{"id", meta.id},
          {"object", "chat.completion.chunk"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({{{"index", 0},
                                    {"delta", delta},
                                    {"logprobs", nullptr},
                                    {"finish_reason", optional_reason(finish_reason)}}})}};
}

json text_completion(const ResponseMeta& meta, std::string_view text, std::string_view finish_reason,
                     const Usage& usage) {
  return {{"id", meta.id},
          {"object", "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({{{"index", 0},
                                    {"text", std::string(text)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", std::string(finish_reason)}}})},
          {"usage", usage_json(usage)}};
}

json text_chunk(const ResponseMeta& meta, std::string_view text,
                std::optional<std::string_view> finish_reason) {
  return {{"id", meta.id},
          {"object", "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({{{"index", 0},
                                    {"text", std::string(text)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", optional_reason(finish_reason)}}})}};
}

json usage_chunk(const ResponseMeta& meta, std::string_view object, const Usage& usage) {
  return {{"id", meta.id},       {"object", std::string(object)}, {"created", meta.created},
          {"model", meta.model}, {"choices", json::array()},      {"usage", usage_json(usage)}};
}

json embeddings_response(std::string_view model, const std::vector<std::vector<float>>& vectors, bool base64,
                         std::uint32_t prompt_tokens) {
  json data = json::array();
  for (std::size_t i = 0; i < vectors.size(); ++i)
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? json(base64_of(vectors[i])) : json(vectors[i])}});
  return {{"object", "list"},
          {"data", data},
          {"model", std::string(model)},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

json model_list(std::string_view id, std::int64_t created) {
  return {
      {"object", "list"},
      {"data",
       json::array(
           {{{"id", std::string(id)}, {"object", "model"}, {"created", created}, {"owned_by", "lagvk"}}})}};
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sse_event(const json& j) {
  return "data: " + dump(j) + "\n\n";
}

}  // namespace lagvk::server
