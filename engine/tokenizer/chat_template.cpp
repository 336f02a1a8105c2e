#include "engine/tokenizer/chat_template.hpp"

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

/// Qwen2/2.5 templates add a fixed system turn when the chat has none:
/// {{- '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n' }}. Finds such a literal (the "\n" escapes
/// as written in the template source) whose text is not followed by a Jinja expression.
std::string chatml_default_system(std::string_view jinja) {
  constexpr std::string_view open = "<|im_start|>system\\n", close = "<|im_end|>";
  for (auto pos = jinja.find(open); pos != std::string_view::npos; pos = jinja.find(open, pos + 1)) {
    const auto start = pos + open.size();
    const auto end = jinja.find(close, start);
    if (end == std::string_view::npos) break;
    const std::string_view text = jinja.substr(start, end - start);
    if (text.empty() || contains(text, "'") || contains(text, "\"") || contains(text, "{")) continue;
    std::string out;  // undo the two escapes such prompts use
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 'n' || text[i + 1] == '\\')) {
        out += text[i + 1] == 'n' ? '\n' : '\\';
        ++i;
      } else {
        out += text[i];
      }
    }
    return out;
  }
  return {};
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

std::string render_llama3(std::span<const ChatMessage> messages, bool gen) {
  std::string out;
  for (const auto& m : messages)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_chatml(const ChatTemplate& t, std::span<const ChatMessage> messages, bool gen) {
  std::string out;
  if (!t.default_system.empty() && (messages.empty() || !is_role(messages[0], "system")))
    out += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

/// ChatML as Qwen3's template writes it: an answer that follows the last question carries its
/// reasoning in a <think> block (an empty one when it is the final message), earlier answers are
/// written without their reasoning. Reasoning is whatever precedes "</think>" in the content.
std::string render_qwen3(std::span<const ChatMessage> messages, bool gen) {
  std::size_t last_query = messages.empty() ? 0 : messages.size() - 1;
  for (std::size_t i = messages.size(); i-- > 0;) {
    const std::string& c = messages[i].content;
    const bool tool_response = c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (is_role(messages[i], "user") && !tool_response) {
      last_query = i;
      break;
    }
  }
  std::string out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (!is_role(m, "assistant")) {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      continue;
    }
    std::string_view content = m.content, reasoning;
    if (const auto close = content.rfind("</think>"); close != std::string_view::npos) {
      std::string_view before = strip_chars(content.substr(0, content.find("</think>")), "\n", false, true);
      if (const auto open = before.rfind("<think>"); open != std::string_view::npos)
        before = before.substr(open + 7);
      reasoning = strip_chars(before, "\n", true, false);
      content = strip_chars(content.substr(close + 8), "\n", true, false);
    }
    const bool last = i + 1 == messages.size();
    out += "<|im_start|>assistant\n";
    if (i > last_query && (last || !reasoning.empty()))
      out += "<think>\n" + std::string(strip_chars(reasoning, "\n", true, true)) + "\n</think>\n\n" +
             std::string(strip_chars(content, "\n", true, false));
    else
      out += content;
    out += "<|im_end|>\n";
  }
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

/// Llama 2 chat: the system prompt sits inside the first [INST]; every user turn after the first
/// starts with BOS (written as text), every answer ends with EOS.
std::string render_llama2(const ChatTemplate& t, std::span<const ChatMessage> messages) {
  std::vector<ChatMessage> turns;
  const std::string system = split_system(messages, turns);
  std::string out;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    std::string content = turns[i].content;
    if (i == 0 && !system.empty()) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
    if (is_role(turns[i], "assistant"))
      out += " " + trim(content) + " " + t.eos;
    else
      out += (i == 0 ? "" : t.bos) + "[INST] " + trim(content) + " [/INST]";
  }
  return out;
}

/// Mistral's tokenizer versions (mistral-common): the same turns with different spacing; the system
/// prompt goes before the first (v1) or the last (v3) user turn.
std::string render_mistral(const ChatTemplate& t, std::span<const ChatMessage> messages) {
  std::vector<ChatMessage> turns;
  const std::string system = split_system(messages, turns);
  const bool v1 = t.format == ChatFormat::mistral_v1, tekken = t.format == ChatFormat::mistral_v3_tekken;
  std::size_t system_turn = turns.size();
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (is_role(turns[i], "assistant")) continue;
    if (v1 && system_turn == turns.size()) system_turn = i;  // the first user turn
    if (!v1) system_turn = i;                                // the last one
  }
  std::string out;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    std::string content = turns[i].content;
    if (is_role(turns[i], "assistant")) {
      out += (tekken ? "" : " ") + content + t.eos;
      continue;
    }
    if (i == system_turn && !system.empty()) content = system + "\n\n" + content;
    if (v1)
      out += " [INST] " + content + " [/INST]";
    else
      out += (tekken ? "[INST]" : "[INST] ") + content + "[/INST]";
  }
  return out;
}

/// Models without a (recognised) template: a readable transcript that ends with "Assistant:".
std::string render_plain(std::span<const ChatMessage> messages, bool gen) {
  std::string out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (i == 0 && is_role(m, "system")) {
      out += m.content + "\n\n";
      continue;
    }
    std::string name = m.role;
    if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = char(name[0] - 'a' + 'A');
    out += name + ": " + m.content + "\n";
  }
  if (gen) out += "Assistant:";
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
    if (t.format == ChatFormat::chatml) t.default_system = chatml_default_system(jinja);
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

std::string render_chat(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
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

}  // namespace lagvk
