#include "engine/lag/trace.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {

Trace trace_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object())
    fail(Errc::bad_input, "{}: a trace must be a JSON object with \"task\" and \"messages\"", where);
  Trace t;
  if (!j.contains("task") || !j["task"].is_string())
    fail(Errc::bad_input, "{}: \"task\" (a string) is missing", where);
  t.task = j["task"].get<std::string>();
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
    fail(Errc::bad_input, "{}: \"messages\" must be a non-empty array", where);
  for (std::size_t i = 0; i < j["messages"].size(); ++i) {
    const auto& m = j["messages"][i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      fail(Errc::bad_input, "{}: message {} needs string fields \"role\" and \"content\"", where, i);
    Message msg{m["role"].get<std::string>(), m["content"].get<std::string>()};
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool")
      fail(Errc::bad_input, "{}: message {} has role '{}'; use system, user, assistant or tool", where, i,
           msg.role);
    t.messages.push_back(std::move(msg));
  }
  if (j.contains("tags")) {
    if (!j["tags"].is_array()) fail(Errc::bad_input, "{}: \"tags\" must be an array of strings", where);
    for (const auto& tag : j["tags"]) {
      if (!tag.is_string()) fail(Errc::bad_input, "{}: \"tags\" must be an array of strings", where);
      t.tags.push_back(tag.get<std::string>());
    }
  }
  return t;
}

std::string label(const std::string& role) {
  if (role == "system") return "System:";
  if (role == "user") return "User:";
  if (role == "assistant") return "Assistant:";
  return "Tool:";
}

void append(std::vector<std::int32_t>& out, const std::vector<std::int32_t>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

/// Position of the answer inside a response: after the last "answer:" (case-insensitive), or npos.
std::size_t answer_start(const std::string& text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  const std::size_t at = lower.rfind("answer:");
  return at == std::string::npos ? at : at + 7;
}

}  // namespace

std::vector<Trace> parse_traces(std::string_view text, const std::string& source) {
  std::vector<Trace> out;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) fail(Errc::bad_input, "{}: no traces (the file is empty)", source);
  nlohmann::json whole = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!whole.is_discarded()) {
    if (whole.is_array()) {
      for (std::size_t i = 0; i < whole.size(); ++i)
        out.push_back(trace_from_json(whole[i], fmt::format("{} [{}]", source, i)));
    } else {
      out.push_back(trace_from_json(whole, source));
    }
    return out;
  }
  // JSON Lines: one trace per non-empty line.
  std::istringstream in{std::string(text)};
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded())
      fail(Errc::bad_input,
           "{}: line {} is not valid JSON (the file is neither one JSON document nor JSON Lines)", source, n);
    out.push_back(trace_from_json(j, fmt::format("{} line {}", source, n)));
  }
  return out;
}

Selection parse_selection(std::string_view name) {
  if (name == "last") return Selection::last;
  if (name == "all") return Selection::all;
  if (name == "answer") return Selection::answer;
  if (name == "full") return Selection::full;
  fail(Errc::invalid_argument, "unknown selection '{}': use last, all, answer or full", name);
}

std::string_view selection_name(Selection s) {
  switch (s) {
    case Selection::last:
      return "last";
    case Selection::all:
      return "all";
    case Selection::answer:
      return "answer";
    case Selection::full:
      return "full";
  }
  return "?";
}

static RenderedTrace render_plain(const Trace& trace, const Tokenizer& tok, Selection selection) {
  RenderedTrace r;
  if (tok.bos() >= 0) r.tokens.push_back(tok.bos());
  std::size_t last_assistant = trace.messages.size();
  for (std::size_t i = 0; i < trace.messages.size(); ++i)
    if (trace.messages[i].role == "assistant") last_assistant = i;
  if (selection != Selection::full && last_assistant == trace.messages.size())
    fail(Errc::bad_input,
         "trace '{}' has no assistant message to keep (selection '{}'); keep the full trace instead "
         "(selection full)",
         trace.task, selection_name(selection));
  for (std::size_t i = 0; i < trace.messages.size(); ++i) {
    const Message& m = trace.messages[i];
    append(r.tokens, tok.encode((i ? "\n" : "") + label(m.role), false, false));
    const bool keep_all = selection == Selection::full ||
                          (m.role == "assistant" && selection == Selection::all) ||
                          (i == last_assistant && selection == Selection::last);
    std::size_t split = std::string::npos;
    if (i == last_assistant && selection == Selection::answer) split = answer_start(m.content);
    if (i == last_assistant && selection == Selection::answer && split == std::string::npos) split = 0;
    if (split != std::string::npos && split > 0) {
      append(r.tokens, tok.encode(" " + m.content.substr(0, split), false, false));
      const std::size_t begin = r.tokens.size();
      append(r.tokens, tok.encode(m.content.substr(split), false, false));
      for (std::size_t t = begin; t < r.tokens.size(); ++t) r.selected.push_back(std::int32_t(t));
      continue;
    }
    const std::size_t begin = r.tokens.size();
    append(r.tokens, tok.encode(" " + m.content, false, false));
    if (keep_all || split == 0)
      for (std::size_t t = begin; t < r.tokens.size(); ++t) r.selected.push_back(std::int32_t(t));
  }
  if (selection == Selection::full) {
    r.selected.resize(r.tokens.size());
    for (std::size_t t = 0; t < r.tokens.size(); ++t) r.selected[t] = std::int32_t(t);
  }
  if (r.selected.empty())
    fail(Errc::bad_input, "trace '{}': the selection '{}' keeps no tokens", trace.task,
         selection_name(selection));
  return r;
}

static std::vector<std::int32_t> render_prompt_plain(const std::vector<Message>& messages,
                                                     const Tokenizer& tok) {
  std::vector<std::int32_t> out;
  if (tok.bos() >= 0) out.push_back(tok.bos());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    append(out, tok.encode((i ? "\n" : "") + label(messages[i].role), false, false));
    append(out, tok.encode(" " + messages[i].content, false, false));
  }
  append(out, tok.encode("\nAssistant:", false, false));
  return out;
}

namespace {

std::vector<ChatMessage> chat_messages(std::span<const Message> messages) {
  std::vector<ChatMessage> out;
  for (const auto& m : messages) out.push_back({m.role, m.content});
  return out;
}

/// The segments of text that cover its characters [begin, end), each with its own kind.
ChatText slice(const ChatText& text, std::size_t begin, std::size_t end) {
  ChatText out;
  std::size_t at = 0;
  for (const auto& s : text) {
    const std::size_t b = std::max(begin, at), e = std::min(end, at + s.text.size());
    if (b < e) out.push_back({s.text.substr(b - at, e - b), s.markup});
    at += s.text.size();
  }
  return out;
}

/// Whether characters [begin, end) of text lie in message text only (no markup).
bool is_message_text(const ChatText& text, std::size_t begin, std::size_t end) {
  for (const auto& s : slice(text, begin, end))
    if (s.markup) return false;
  return true;
}

/// Appends a message's content as plain text; marks it selected when `keep_all`, or, for the answer
/// selection (`answer_span`), from the answer's start (all of it when it has no "Answer:").
void append_content(RenderedTrace& r, const Tokenizer& tok, const std::string& content, bool answer_span,
                    bool keep_all) {
  std::size_t split = answer_span ? answer_start(content) : std::string::npos;
  if (answer_span && split == std::string::npos) split = 0;
  if (split != std::string::npos && split > 0)
    append(r.tokens, tok.encode(content.substr(0, split), false, false));
  const std::size_t begin = r.tokens.size();
  append(r.tokens, tok.encode(split != std::string::npos ? content.substr(split) : content, false, false));
  if (keep_all || split != std::string::npos)
    for (std::size_t t = begin; t < r.tokens.size(); ++t) r.selected.push_back(std::int32_t(t));
}

/// The templated rendering, or nullopt when the template does not render conversations incrementally
/// (a prefix of the conversation must render to a prefix of the whole). Markup is tokenized with
/// special tokens, message text (roles and content) as plain text (encode_chat).
std::optional<RenderedTrace> render_templated(const Trace& trace, const Tokenizer& tok, Selection selection,
                                              const ChatTemplate& chat) {
  const auto all = chat_messages(trace.messages);
  RenderedTrace r;
  if (tok.add_bos_by_default() && tok.bos() >= 0) r.tokens.push_back(tok.bos());
  std::size_t last_assistant = all.size();
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].role == "assistant") last_assistant = i;
  std::string previous;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const ChatText rendered = render_chat_segments(chat, std::span(all).first(i + 1), false);
    const std::string text = joined(rendered);
    if (text.compare(0, previous.size(), previous) != 0) return std::nullopt;
    const ChatText increment_text = slice(rendered, previous.size(), text.size());
    const std::string increment = text.substr(previous.size());
    previous = text;
    const std::string& content = all[i].content;
    const std::size_t at = content.empty() ? std::string::npos : increment.rfind(content);
    if (at == std::string::npos || !is_message_text(increment_text, at, at + content.size()))
      return std::nullopt;
    append(r.tokens, encode_chat(tok, slice(increment_text, 0, at), false));
    const bool keep_all = selection == Selection::full ||
                          (all[i].role == "assistant" && selection == Selection::all) ||
                          (i == last_assistant && selection == Selection::last);
    append_content(r, tok, content, i == last_assistant && selection == Selection::answer, keep_all);
    append(r.tokens, encode_chat(tok, slice(increment_text, at + content.size(), increment.size()), false));
  }
  if (selection == Selection::full) {
    r.selected.resize(r.tokens.size());
    for (std::size_t t = 0; t < r.tokens.size(); ++t) r.selected[t] = std::int32_t(t);
  }
  return r;
}

/// Where the tokens of assistant message content begin and end in a whole rendering: [begin, end) in
/// characters, in message order.
struct ContentSpan {
  std::size_t message = 0, begin = 0, end = 0;
};

/// The templated rendering of a template that does not render conversations incrementally (qwen3 drops
/// earlier turns' reasoning, mistral v3 moves the system prompt into the last user turn): the whole
/// conversation rendered once, each assistant message's content found in it in order, as message text
/// right after the template's markup (the assistant header). nullopt when one cannot be found.
std::optional<RenderedTrace> render_whole(const Trace& trace, const Tokenizer& tok, Selection selection,
                                          const ChatTemplate& chat) {
  const auto all = chat_messages(trace.messages);
  const ChatText rendered = render_chat_segments(chat, all, false);
  const std::string text = joined(rendered);
  // Where each segment starts, to tell whether a character follows markup.
  std::vector<bool> after_markup(text.size() + 1, false);
  {
    std::size_t at = 0;
    for (const auto& seg : rendered) {
      at += seg.text.size();
      if (seg.markup) after_markup[at] = true;
    }
  }
  std::vector<ContentSpan> spans;
  std::size_t from = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].role != "assistant") continue;
    const std::string& content = all[i].content;
    if (content.empty()) return std::nullopt;
    std::size_t at = text.find(content, from);
    while (at != std::string::npos &&
           !(after_markup[at] && is_message_text(rendered, at, at + content.size())))
      at = text.find(content, at + 1);
    if (at == std::string::npos) return std::nullopt;
    spans.push_back({i, at, at + content.size()});
    from = at + content.size();
  }
  RenderedTrace r;
  if (tok.add_bos_by_default() && tok.bos() >= 0) r.tokens.push_back(tok.bos());
  const std::size_t last = spans.empty() ? all.size() : spans.back().message;
  std::size_t done = 0;
  for (const ContentSpan& span : spans) {
    append(r.tokens, encode_chat(tok, slice(rendered, done, span.begin), false));
    const std::string& content = all[span.message].content;
    const bool keep_all = selection == Selection::full || selection == Selection::all ||
                          (span.message == last && selection == Selection::last);
    append_content(r, tok, content, span.message == last && selection == Selection::answer, keep_all);
    done = span.end;
  }
  append(r.tokens, encode_chat(tok, slice(rendered, done, text.size()), false));
  if (selection == Selection::full) {
    r.selected.resize(r.tokens.size());
    for (std::size_t t = 0; t < r.tokens.size(); ++t) r.selected[t] = std::int32_t(t);
  }
  return r;
}

}  // namespace

RenderedTrace render_trace(const Trace& trace, const Tokenizer& tok, Selection selection,
                           const ChatTemplate* chat) {
  if (chat && chat->format != ChatFormat::plain) {
    if (selection != Selection::full && std::none_of(trace.messages.begin(), trace.messages.end(),
                                                     [](const Message& m) { return m.role == "assistant"; }))
      fail(Errc::bad_input,
           "trace '{}' has no assistant message to keep (selection '{}'); keep the full trace instead "
           "(selection full)",
           trace.task, selection_name(selection));
    auto r = render_templated(trace, tok, selection, *chat);
    if (!r) r = render_whole(trace, tok, selection, *chat);
    if (r) {
      if (r->selected.empty())
        fail(Errc::bad_input, "trace '{}': the selection '{}' keeps no tokens", trace.task,
             selection_name(selection));
      return *r;
    }
  }
  return render_plain(trace, tok, selection);
}

std::vector<std::int32_t> render_prompt(const std::vector<Message>& messages, const Tokenizer& tok,
                                        const ChatTemplate* chat) {
  if (!chat || chat->format == ChatFormat::plain) return render_prompt_plain(messages, tok);
  std::vector<std::int32_t> out;
  // BOS as the model's own prompts start (llama.cpp's add_bos_token): SmolLM2's BOS is <|im_start|>,
  // which its template writes itself.
  if (tok.add_bos_by_default() && tok.bos() >= 0) out.push_back(tok.bos());
  // Message text stays plain text: "<|im_start|>system" in a question or a tool's output is not a turn.
  append(out, encode_chat(tok, render_chat_segments(*chat, chat_messages(messages), true), false));
  return out;
}

}  // namespace lagvk::lag
