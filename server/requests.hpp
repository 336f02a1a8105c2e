#pragma once
// The OpenAI request bodies the server accepts, parsed and validated into typed structs. Every problem (bad
// JSON, a wrong type, a value out of range, a missing field) is an ApiError naming the field, thrown before
// anything touches the model. Fields the server does not know are ignored, as OpenAI's clients send many.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lagvk/lagvk.hpp"
#include "server/tool_calls.hpp"

namespace lagvk::server {

/// The sampling fields shared by chat and text completions; absent ones keep the library's defaults
/// (lagvk_generate_params_default), except the seed, which is random unless given.
struct Sampling {
  std::optional<std::uint32_t> max_tokens;
  std::optional<float> temperature;  ///< 0 to 2; 0 is greedy
  std::optional<float> top_p;        ///< (0, 1]
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;
  /// llama-server's `cache_prompt`: start from a slot's cache sharing the prompt's prefix (true); false
  /// evaluates the whole prompt afresh (to measure, or to rule the cache out).
  bool cache_prompt = true;
};

/// The `lag` extension of a chat request: Log-Augmented Generation from the server's store (docs/SERVER.md).
struct LagRequest {
  std::uint32_t k = lagvk_retrieve_params_default().k;  ///< logs retrieved per query
  /// At most this many logs in a task's context, over all its requests (0: no cap); the library's default.
  std::uint32_t max_logs = lagvk_react_params_default().max_logs;
  lagvk_log_mode mode = lagvk_ask_params_default().mode;
  std::string task_id;            ///< "": a task of one request
  bool save = false;              ///< save the task when this request's answer ends it (calls no tool)
  std::vector<std::string> tags;  ///< tags of the saved log
};

/// The most logs one `lag` request may retrieve per query, and the longest task id and tag.
inline constexpr std::uint32_t kMaxLagK = 64;
inline constexpr std::size_t kMaxLagTextBytes = 256;
inline constexpr std::size_t kMaxLagTags = 32;

/// The `augment` extension of a chat request: cache augmentation with the server's coprocessor, its latents
/// after the logs and the prompt before the answer (docs/SERVER.md). Also a field of POST /v1/logs.
struct AugmentRequest {
  std::uint32_t latents = 0;  ///< 0: the server's --latents
};
inline constexpr std::uint32_t kMaxAugmentLatents = LAGVK_MAX_LATENTS;  ///< the engine's bound of a file

struct ChatRequest {
  std::string model;                       ///< "" when the body names none
  std::vector<cpp::ChatMessage> messages;  ///< tool calls as OpenAI's JSON, content null as ""
  std::string tools_json;       ///< the "tools" array as sent (keys in the client's order); "" for none
  std::vector<ToolSpec> tools;  ///< the functions "tools" declares, in order
  ToolChoice tool_choice;       ///< "auto" when tools are given and tool_choice is not
  Sampling sampling;
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage: a last chunk with the usage
  std::optional<LagRequest> lag;
  std::optional<AugmentRequest> augment;
};

struct CompletionRequest {
  std::string model;
  std::variant<std::string, std::vector<std::int32_t>> prompt;  ///< text, or token ids used as given
  Sampling sampling;
  bool stream = false;
  bool include_usage = false;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> input;
  bool base64 = false;  ///< encoding_format "base64": each vector as base64 of little-endian float32s
};

/// The largest number of tools one request may declare.
inline constexpr std::size_t kMaxTools = 128;

/// The largest number of stop strings a request may give (OpenAI allows 4; llama-server more).
inline constexpr std::size_t kMaxStopStrings = 16;
/// The largest number of texts one embeddings request may give.
inline constexpr std::size_t kMaxEmbeddingInputs = 2048;

[[nodiscard]] ChatRequest parse_chat_request(std::string_view body);
/// The `augment` field of a request body's object (POST /v1/logs): true or {"latents": N} asks for
/// augmentation, false or no field for none; anything else is a 400.
[[nodiscard]] std::optional<AugmentRequest> parse_augment_field(std::string_view body);
[[nodiscard]] CompletionRequest parse_completion_request(std::string_view body);
[[nodiscard]] EmbeddingRequest parse_embedding_request(std::string_view body);

}  // namespace lagvk::server
