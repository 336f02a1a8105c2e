#pragma once
// Task traces as LAG stores them: the messages of a finished task, rendered to tokens, with the span of
// tokens a selection strategy keeps as the log.
//
// Rendering. With a chat template (the model's, see engine/tokenizer/chat_template.hpp) each message is
// rendered as the template renders it; the increments of the rendered conversation are split into the
// template's text (tokenized with special tokens) and the message content (tokenized as plain text), so
// each message's token span is exact. Templates whose rendering of a prefix of the conversation is not a
// prefix of the whole (they move the system prompt or drop earlier reasoning) are rendered whole, each
// assistant message found in order right after the template's markup. Models without a template use
// the plain format: BOS, then for each message its role label and content, tokenized
// piecewise:   "System:" " <content>"  "\nUser:" " <content>"  "\nAssistant:" " <content>"  "\nTool:" ...
// A prompt for a new task ends where the assistant's answer begins ("\nAssistant:" in the plain format).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/chat_template.hpp"
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

[[nodiscard]] RenderedTrace render_trace(const Trace& trace, const Tokenizer& tokenizer, Selection selection,
                                         const ChatTemplate* chat = nullptr);

/// The prompt of a new task: BOS (where the model's prompts start with one: always in the plain format,
/// as the tokenizer says with a template), the messages so far (typically one user message), then where the
/// assistant's answer begins. The same tokens whether logs precede it or not: the paper's layout is
/// [logs][BOS + prompt], so a stock model keeps its attention-sink token at the start of its prompt.
[[nodiscard]] std::vector<std::int32_t> render_prompt(const std::vector<Message>& messages,
                                                      const Tokenizer& tokenizer,
                                                      const ChatTemplate* chat = nullptr);

}  // namespace lagvk::lag
