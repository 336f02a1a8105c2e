#include "engine/tokenizer/chat_template.hpp"

#include <algorithm>
#include <vector>

#include "engine/model/gguf_reader.hpp"

namespace lagvk {

namespace {

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

constexpr std::string_view kWhitespace = " \t\n\r\f\v";

/// Jinja's trim / Python's str.strip() without arguments (ASCII whitespace is all chat text needs).
std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(kWhitespace) - b + 1));
}

std::string_view strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
  if (left) {
    const auto b = s.find_first_not_of(chars);
    s = b == std::string_view::npos ? std::string_view() : s.substr(b);
  }
  if (right) {
    const auto e = s.find_last_not_of(chars);
    s = e == std::string_view::npos ? std::string_view() : s.substr(0, e + 1);
  }
  return s;
}

/// A default system prompt found in a template: its text and where its literal starts in the source.
struct SystemLiteral {
  std::string text;
  std::size_t position = 0;
};

/// The text between `open` and the next "<|im_end|>" at each occurrence of `open`: the first that is a
/// plain literal (no quote, brace or Jinja expression in it), with the "\n" and "\\" escapes of a Jinja
/// string undone; empty text when there is none.
SystemLiteral literal_system_text(std::string_view jinja, std::string_view open) {
  constexpr std::string_view close = "<|im_end|>";
  for (auto pos = jinja.find(open); pos != std::string_view::npos; pos = jinja.find(open, pos + 1)) {
    const auto start = pos + open.size();
    const auto end = jinja.find(close, start);
    if (end == std::string_view::npos) break;
    const std::string_view text = jinja.substr(start, end - start);
    if (text.empty() || contains(text, "'") || contains(text, "\"") || contains(text, "{")) continue;
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 'n' || text[i + 1] == '\\')) {
        out += text[i + 1] == 'n' ? '\n' : '\\';
        ++i;
      } else {
        out += text[i];
      }
    }
    return {out, pos};
  }
  return {};
}

/// ChatML templates that add a fixed system turn when the chat has none: Qwen2/2.5 write
/// {{- '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n' }} (the newline as a "\n" escape in the
/// template source), SmolLM2 '<|im_start|>system<newline>You are a helpful AI assistant named SmolLM,
/// ...<|im_end|>' (a real newline: its template was stored with the escape already decoded).
SystemLiteral chatml_default_system(std::string_view jinja) {
  for (std::string_view open : {"<|im_start|>system\\n", "<|im_start|>system\n"})
    if (auto found = literal_system_text(jinja, open); !found.text.empty()) return found;
  return {};
}

/// Occurrences of `what` in text[0, end).
std::size_t count_before(std::string_view text, std::string_view what, std::size_t end) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string_view::npos && pos < end; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

/// Whether `position` lies inside a {% for %} ... {% endfor %} block: more loops open before it than
/// closed ("{%- for" and "{% for" open one, "endfor" closes one).
bool inside_for_loop(std::string_view jinja, std::size_t position) {
  const std::size_t opened =
      count_before(jinja, "{% for ", position) + count_before(jinja, "{%- for ", position);
  return opened > count_before(jinja, "endfor", position);
}

/// Appends to a rendered chat, joining neighbours of the same kind.
void add(ChatText& out, std::string_view text, bool markup) {
  if (text.empty()) return;
  if (!out.empty() && out.back().markup == markup)
    out.back().text += text;
  else
    out.push_back({std::string(text), markup});
}
void markup(ChatText& out, std::string_view text) {
  add(out, text, true);
}
void content(ChatText& out, std::string_view text) {
  add(out, text, false);
}
void append(ChatText& out, const ChatText& more) {
  for (const auto& s : more) add(out, s.text, s.markup);
}

/// trim() over a rendered piece: whitespace goes from its start and end whichever segments hold it.
ChatText trimmed(ChatText text) {
  while (!text.empty()) {
    auto& front = text.front().text;
    front.erase(0, std::min(front.size(), front.find_first_not_of(kWhitespace)));
    if (!front.empty()) break;
    text.erase(text.begin());
  }
  while (!text.empty()) {
    auto& back = text.back().text;
    const auto last = back.find_last_not_of(kWhitespace);
    back.erase(last == std::string::npos ? 0 : last + 1);
    if (!back.empty()) break;
    text.pop_back();
  }
  return text;
}

ChatText content_only(std::string_view text) {
  ChatText out;
  content(out, text);
  return out;
}

bool is_role(const ChatMessage& m, std::string_view role) {
  return m.role == role;
}

/// The chat's leading system message (taken out of the turns) and the remaining turns.
std::string split_system(std::span<const ChatMessage> messages, std::vector<ChatMessage>& turns) {
  std::string system;
  std::size_t first = 0;
  if (!messages.empty() && is_role(messages[0], "system")) {
    system = messages[0].content;
    first = 1;
  }
  turns.assign(messages.begin() + std::ptrdiff_t(first), messages.end());
  return system;
}

// Roles are written as content: they come from traces and requests like the messages themselves.
ChatText render_llama3(std::span<const ChatMessage> messages, bool gen) {
  ChatText out;
  for (const auto& m : messages) {
    markup(out, "<|start_header_id|>");
    content(out, m.role);
    markup(out, "<|end_header_id|>\n\n");
    content(out, trim(m.content));
    markup(out, "<|eot_id|>");
  }
  if (gen) markup(out, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  return out;
}

void chatml_turn(ChatText& out, const std::string& role, const ChatText& body) {
  markup(out, "<|im_start|>");
  content(out, role);
  markup(out, "\n");
  append(out, body);
  markup(out, "<|im_end|>\n");
}

ChatText render_chatml(const ChatTemplate& t, std::span<const ChatMessage> messages, bool gen) {
  ChatText out;
  const bool first_is_system = !messages.empty() && is_role(messages[0], "system");
  const bool wanted = !messages.empty() || !t.default_system_needs_a_message;
  if (!t.default_system.empty() && wanted && !first_is_system)
    markup(out, "<|im_start|>system\n" + t.default_system + "<|im_end|>\n");  // the template's own text
  for (const auto& m : messages) chatml_turn(out, m.role, content_only(m.content));
  if (gen) markup(out, "<|im_start|>assistant\n");
  return out;
}

/// ChatML as Qwen3's template writes it: an answer that follows the last question carries its
/// reasoning in a <think> block (an empty one when it is the final message), earlier answers are
/// written without their reasoning. Reasoning is whatever precedes "</think>" in the content.
ChatText render_qwen3(std::span<const ChatMessage> messages, bool gen) {
  std::size_t last_query = messages.empty() ? 0 : messages.size() - 1;
  for (std::size_t i = messages.size(); i-- > 0;) {
    const std::string& c = messages[i].content;
    const bool tool_response = c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (is_role(messages[i], "user") && !tool_response) {
      last_query = i;
      break;
    }
  }
  ChatText out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (!is_role(m, "assistant")) {
      chatml_turn(out, m.role, content_only(m.content));
      continue;
    }
    std::string_view text = m.content, reasoning;
    if (const auto close = text.rfind("</think>"); close != std::string_view::npos) {
      std::string_view before = strip_chars(text.substr(0, text.find("</think>")), "\n", false, true);
      if (const auto open = before.rfind("<think>"); open != std::string_view::npos)
        before = before.substr(open + 7);
      reasoning = strip_chars(before, "\n", true, false);
      text = strip_chars(text.substr(close + 8), "\n", true, false);
    }
    const bool last = i + 1 == messages.size();
    ChatText body;
    if (i > last_query && (last || !reasoning.empty())) {
      markup(body, "<think>\n");
      content(body, strip_chars(reasoning, "\n", true, true));
      markup(body, "\n</think>\n\n");
      content(body, strip_chars(text, "\n", true, false));
    } else {
      content(body, text);
    }
    chatml_turn(out, "assistant", body);
  }
  if (gen) markup(out, "<|im_start|>assistant\n");
  return out;
}

/// Llama 2 chat: the system prompt sits inside the first [INST]; every user turn after the first
/// starts with BOS (written as text), every answer ends with EOS.
ChatText render_llama2(const ChatTemplate& t, std::span<const ChatMessage> messages) {
  std::vector<ChatMessage> turns;
  const std::string system = split_system(messages, turns);
  ChatText out;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    ChatText body;
    if (i == 0 && !system.empty()) {
      markup(body, "<<SYS>>\n");
      content(body, system);
      markup(body, "\n<</SYS>>\n\n");
    }
    content(body, turns[i].content);
    if (is_role(turns[i], "assistant")) {
      markup(out, " ");
      append(out, trimmed(body));
      markup(out, " " + t.eos);
    } else {
      markup(out, (i == 0 ? "" : t.bos) + "[INST] ");
      append(out, trimmed(body));
      markup(out, " [/INST]");
    }
  }
  return out;
}

/// Mistral's tokenizer versions (mistral-common): the same turns with different spacing; the system
/// prompt goes before the first (v1) or the last (v3) user turn.
ChatText render_mistral(const ChatTemplate& t, std::span<const ChatMessage> messages) {
  std::vector<ChatMessage> turns;
  const std::string system = split_system(messages, turns);
  const bool v1 = t.format == ChatFormat::mistral_v1, tekken = t.format == ChatFormat::mistral_v3_tekken;
  std::size_t system_turn = turns.size();
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (is_role(turns[i], "assistant")) continue;
    if (v1 && system_turn == turns.size()) system_turn = i;  // the first user turn
    if (!v1) system_turn = i;                                // the last one
  }
  ChatText out;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (is_role(turns[i], "assistant")) {
      markup(out, tekken ? "" : " ");
      content(out, turns[i].content);
      markup(out, t.eos);
      continue;
    }
    markup(out, v1 ? " [INST] " : (tekken ? "[INST]" : "[INST] "));
    if (i == system_turn && !system.empty()) {
      content(out, system);
      markup(out, "\n\n");
    }
    content(out, turns[i].content);
    markup(out, v1 ? " [/INST]" : "[/INST]");
  }
  return out;
}

/// Models without a (recognised) template: a readable transcript that ends with "Assistant:".
ChatText render_plain(std::span<const ChatMessage> messages, bool gen) {
  ChatText out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (i == 0 && is_role(m, "system")) {
      content(out, m.content);
      markup(out, "\n\n");
      continue;
    }
    std::string name = m.role;
    if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = char(name[0] - 'a' + 'A');
    content(out, name);
    markup(out, ": ");
    content(out, m.content);
    markup(out, "\n");
  }
  if (gen) markup(out, "Assistant:");
  return out;
}

}  // namespace

std::string_view chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::plain:
      return "plain";
    case ChatFormat::llama3:
      return "llama3";
    case ChatFormat::chatml:
      return "chatml";
    case ChatFormat::qwen3:
      return "qwen3";
    case ChatFormat::llama2:
      return "llama2";
    case ChatFormat::mistral_v1:
      return "mistral_v1";
    case ChatFormat::mistral_v3:
      return "mistral_v3";
    case ChatFormat::mistral_v3_tekken:
      return "mistral_v3_tekken";
  }
  return "?";
}

ChatTemplate chat_template_from_jinja(std::string_view jinja, std::string bos, std::string eos) {
  ChatTemplate t;
  t.bos = std::move(bos);
  t.eos = std::move(eos);
  if (contains(jinja, "<|start_header_id|>")) {
    t.format = ChatFormat::llama3;
  } else if (contains(jinja, "<|im_start|>")) {
    t.format = contains(jinja, "<think>") ? ChatFormat::qwen3 : ChatFormat::chatml;
    if (t.format == ChatFormat::chatml) {
      const SystemLiteral found = chatml_default_system(jinja);
      t.default_system = found.text;
      t.default_system_needs_a_message = !found.text.empty() && inside_for_loop(jinja, found.position);
    }
  } else if (contains(jinja, "[INST]")) {
    if (contains(jinja, "<<SYS>>"))
      t.format = ChatFormat::llama2;
    else if (contains(jinja, " [/INST]"))
      t.format = ChatFormat::mistral_v1;
    else if (contains(jinja, "[INST]'") || contains(jinja, "[INST]\""))
      t.format = ChatFormat::mistral_v3_tekken;
    else
      t.format = ChatFormat::mistral_v3;
  }
  return t;
}

ChatTemplate detect_chat_template(const GgufFile& file) {
  std::string bos = "<s>", eos = "</s>";
  if (file.has("tokenizer.ggml.tokens")) {
    const auto tokens = file.get_string_array("tokenizer.ggml.tokens");
    auto text_of = [&](std::string_view key, std::string& out) {
      if (const auto id = file.get_u32_opt(key); id && *id < tokens.size()) out = tokens[*id];
    };
    text_of("tokenizer.ggml.bos_token_id", bos);
    text_of("tokenizer.ggml.eos_token_id", eos);
  }
  const auto jinja = file.get_string_opt("tokenizer.chat_template");
  return chat_template_from_jinja(jinja ? *jinja : std::string(), std::move(bos), std::move(eos));
}

ChatText render_chat_segments(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                              bool add_generation_prompt) {
  switch (tmpl.format) {
    case ChatFormat::llama3:
      return render_llama3(messages, add_generation_prompt);
    case ChatFormat::chatml:
      return render_chatml(tmpl, messages, add_generation_prompt);
    case ChatFormat::qwen3:
      return render_qwen3(messages, add_generation_prompt);
    case ChatFormat::llama2:
      return render_llama2(tmpl, messages);
    case ChatFormat::mistral_v1:
    case ChatFormat::mistral_v3:
    case ChatFormat::mistral_v3_tekken:
      return render_mistral(tmpl, messages);
    case ChatFormat::plain:
      break;
  }
  return render_plain(messages, add_generation_prompt);
}

std::string joined(const ChatText& text) {
  std::string out;
  for (const auto& s : text) out += s.text;
  return out;
}

std::string render_chat(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                        bool add_generation_prompt) {
  return joined(render_chat_segments(tmpl, messages, add_generation_prompt));
}

std::vector<TextSegment> text_segments(const ChatText& text) {
  std::vector<TextSegment> out;
  for (const auto& s : text) out.push_back({s.text, s.markup});
  return out;
}

std::vector<std::int32_t> encode_chat(const Tokenizer& tok, const ChatText& text, bool add_bos) {
  return tok.encode_segments(text_segments(text), add_bos);
}

}  // namespace lagvk
