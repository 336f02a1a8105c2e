#pragma once
// Task traces as LAG stores them: the messages of a finished task, rendered to tokens, with the span of
// tokens a selection strategy keeps as the log.
//
// Rendering (the plain format, used for every model until chat templates are wired in): BOS, then for
// each message its role label and content, tokenized piecewise so that the spans of each message are
// exact:   "System:" " <content>"  "\nUser:" " <content>"  "\nAssistant:" " <content>"  "\nTool:" ...
// A prompt for a new task ends with "\nAssistant:" and the model continues from there.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk::lag {

struct Message {
  std::string role;  ///< "system", "user", "assistant" or "tool"
  std::string content;
};

struct Trace {
  std::string task;  ///< the task's question; also the log's retrieval text
  std::vector<Message> messages;
  std::vector<std::string> tags;
};

/// One trace object, a JSON array of them, or JSON Lines. Errors name the source, the line or index, and
/// what is wrong ({"task": "...", "messages": [{"role": ..., "content": ...}], "tags": [...]}).
[[nodiscard]] std::vector<Trace> parse_traces(std::string_view text, const std::string& source);

/// Which tokens of a trace become the log.
enum class Selection {
  last,    ///< the last assistant response (LAG's default)
  all,     ///< every assistant response
  answer,  ///< the final answer span: after the last "Answer:" in the last response (else all of it)
  full,    ///< every token (equivalence tests)
};
[[nodiscard]] Selection parse_selection(std::string_view name);
[[nodiscard]] std::string_view selection_name(Selection s);

struct RenderedTrace {
  std::vector<std::int32_t> tokens;    ///< the whole trace
  std::vector<std::int32_t> selected;  ///< indices into tokens, ascending
};

[[nodiscard]] RenderedTrace render_trace(const Trace& trace, const Tokenizer& tokenizer, Selection selection);

/// The prompt of a new task: the messages so far (typically one user message), then "\nAssistant:".
/// `leading_bos` is false when the prompt follows spliced logs (BOS belongs to the start of a context).
[[nodiscard]] std::vector<std::int32_t> render_prompt(const std::vector<Message>& messages,
                                                      const Tokenizer& tokenizer, bool leading_bos);

}  // namespace lagvk::lag
