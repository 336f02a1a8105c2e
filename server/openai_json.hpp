#pragma once
// The JSON of OpenAI's responses and stream chunks: chat.completion, chat.completion.chunk,
// text_completion, embeddings and model lists, and the server-sent event that carries a chunk.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lagvk/lagvk.h"
#include "server/tool_calls.hpp"

namespace lagvk::server {

/// What every response of one request shares: "chatcmpl-..." or "cmpl-...", its Unix time, the model id.
struct ResponseMeta {
  std::string id;
  std::int64_t created = 0;
  std::string model;
};

struct Usage {
  std::uint32_t prompt_tokens = 0;
  std::uint32_t completion_tokens = 0;
  std::uint32_t cached_tokens = 0;  ///< of prompt_tokens: served from a cache (prefix reuse, spliced logs)
};

/// "stop" (an end-of-generation token or a stop string) or "length" (max_tokens or the context).
[[nodiscard]] const char* finish_reason_of(lagvk_stop_reason reason);

[[nodiscard]] nlohmann::json usage_json(const Usage& usage);

[[nodiscard]] nlohmann::json chat_completion(const ResponseMeta& meta, std::string_view text,
                                             std::string_view finish_reason, const Usage& usage);
/// A chat.completion whose message is given whole (content, tool_calls).
[[nodiscard]] nlohmann::json chat_completion_message(const ResponseMeta& meta, const nlohmann::json& message,
                                                     std::string_view finish_reason, const Usage& usage);

/// OpenAI's tool_calls entry: {"id", "type": "function", "function": {"name", "arguments"}}.
[[nodiscard]] nlohmann::json tool_call_json(std::string_view id, std::string_view name,
                                            std::string_view arguments);

/// A parsed answer as OpenAI's assistant message: content (null when the answer is only calls) and
/// tool_calls, the calls' ids call_id_prefix + their index.
[[nodiscard]] nlohmann::json tool_reply_message(const ParsedReply& reply, std::string_view call_id_prefix);

/// The chunks of a streamed chat with tools, sent once the answer is whole (a call can only be told from
/// text at its end): the text as one content delta, then each call as OpenAI streams one (a delta with its
/// index, id, type and name and empty arguments, then one with the arguments), then the finish reason.
[[nodiscard]] std::vector<nlohmann::json> tool_reply_chunks(const ResponseMeta& meta,
                                                            const ParsedReply& reply,
                                                            std::string_view call_id_prefix,
                                                            std::string_view finish_reason);

/// A chunk whose delta is `delta` ({"role": "assistant", "content": ""}, {"content": "..."} or {}).
[[nodiscard]] nlohmann::json chat_chunk(const ResponseMeta& meta, const nlohmann::json& delta,
                                        std::optional<std::string_view> finish_reason);

[[nodiscard]] nlohmann::json text_completion(const ResponseMeta& meta, std::string_view text,
                                             std::string_view finish_reason, const Usage& usage);
[[nodiscard]] nlohmann::json text_chunk(const ResponseMeta& meta, std::string_view text,
                                        std::optional<std::string_view> finish_reason);

/// The last chunk of a stream with stream_options.include_usage: no choices, the usage.
[[nodiscard]] nlohmann::json usage_chunk(const ResponseMeta& meta, std::string_view object,
                                         const Usage& usage);

/// vectors[i] is the embedding of input i; base64: each as base64 of its little-endian float32 bytes.
[[nodiscard]] nlohmann::json embeddings_response(std::string_view model,
                                                 const std::vector<std::vector<float>>& vectors, bool base64,
                                                 std::uint32_t prompt_tokens);

[[nodiscard]] nlohmann::json model_list(std::string_view id, std::int64_t created);

/// One server-sent event: "data: <json>\n\n". Text that is not valid UTF-8 (a generation cut inside a
/// character, byte tokens of a random model) is replaced with U+FFFD rather than failing the response.
[[nodiscard]] std::string sse_event(const nlohmann::json& j);
/// The compact JSON of a response body, with the same replacement.
[[nodiscard]] std::string dump(const nlohmann::json& j);

}  // namespace lagvk::server
