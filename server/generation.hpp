#pragma once
// One request's generation on the model through the public API: its prompt's length checked against the
// context first (so a stream can still answer with an error status), then the tokens streamed to `emit`
// through the stop-string filter. A client gone (emit returns false) or a cancel from another thread
// (shutdown) stops the generation at its next token.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lagvk/lagvk.hpp"
#include "server/api_error.hpp"
#include "server/metrics.hpp"
#include "server/openai_json.hpp"
#include "server/requests.hpp"

namespace lagvk::server {

/// A chat: messages with tool calls and results, rendered with the model's template, with its tools and
/// the answer's forced opening (a tool_choice).
struct ChatPrompt {
  std::vector<cpp::ChatMessage> messages;
  cpp::ChatParams params;
};

/// A chat answered with logs from the server's store (the `lag` field): the logs to place in order, the
/// log mode, and whether and how the finished task is saved (cpp::AskOptions; its generation fields are
/// set by generate()).
struct LagChat {
  ChatPrompt chat;
  cpp::Store* store = nullptr;
  cpp::AskOptions options;
  std::map<std::uint64_t, double> scores;  ///< retrieval's score of each log (reported with the placed logs)
  bool report_lag = true;  ///< false for a chat answered here only to be augmented (no `lag` field)
};

/// A chat, a text prompt, token ids used as given, or a chat with logs.
using PromptInput = std::variant<ChatPrompt, std::string, std::vector<std::int32_t>, LagChat>;

/// Sends generated text to the client; returns false when the client is gone.
using Emit = std::function<bool(std::string_view text)>;

/// What a chat with logs placed and saved.
struct LagOutcome {
  std::vector<cpp::LogRef> logs;  ///< placed, in context order (tokens set; scores are the caller's)
  std::vector<cpp::SkippedLog> skipped;
  std::optional<std::uint64_t> saved_log;
};

/// What the coprocessor appended (the response's `augment` object).
struct AugmentOutcome {
  std::uint32_t latents = 0;  ///< 0 when they did not fit the context beside the answer
  double ms = 0;
};

struct Outcome {
  std::string finish_reason;  ///< "stop" or "length"; empty when cancelled
  Usage usage;
  std::optional<LagOutcome> lag;          ///< for a LagChat with report_lag
  std::optional<AugmentOutcome> augment;  ///< for a LagChat with a coprocessor
  bool cancelled = false;  ///< the client left or the server is stopping: nothing more is to be sent
};

/// The prompt's tokens, as the generation will count them (a chat is rendered and tokenized). Throws
/// ApiError: 400 context_length_exceeded when it leaves no room to generate, 400 for a token id outside
/// the vocabulary.
[[nodiscard]] std::uint32_t checked_prompt_tokens(cpp::Model& model, const PromptInput& prompt);

/// Generates; `prompt_tokens` from checked_prompt_tokens (the default max_tokens is the rest of the
/// context). Library failures become ApiError (400 for the input's faults, 500 otherwise). metrics (may be
/// null) gets the time to the first token and, once the generation ends, its tokens.
[[nodiscard]] Outcome generate(cpp::Model& model, const PromptInput& prompt, const Sampling& sampling,
                               std::uint32_t prompt_tokens, const Emit& emit, Metrics* metrics = nullptr);

/// The ApiError for a failed library call (what the client is told).
[[nodiscard]] ApiError api_error_of(const cpp::Error& e);

}  // namespace lagvk::server
