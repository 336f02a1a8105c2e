#include "engine/tokenizer/chat_template.hpp"

#include <algorithm>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/tokenizer/jinja_json.hpp"

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

using OrderedJson = nlohmann::ordered_json;

/// The tool definitions of a request: each array element as given (its keys in the client's order).
std::vector<OrderedJson> parse_tools(std::string_view tools_json) {
  if (trim(tools_json).empty()) return {};
  OrderedJson j = OrderedJson::parse(tools_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array())
    fail(Errc::invalid_argument,
         "the tool definitions are not a JSON array: give [{{\"type\": \"function\", ...}}]");
  for (std::size_t i = 0; i < j.size(); ++i)
    if (!j[i].is_object()) fail(Errc::invalid_argument, "tool definition {} is not a JSON object", i);
  return {j.begin(), j.end()};
}

/// A call's arguments as an object (formats whose templates re-write them with tojson).
OrderedJson call_arguments(const ChatToolCall& call) {
  OrderedJson j = OrderedJson::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    fail(Errc::invalid_argument, "the arguments of the call to '{}' are not a JSON object: {}", call.name,
         call.arguments);
  return j;
}

// Qwen's tool texts (the Qwen2.5 and Qwen3 templates write the same ones).
constexpr std::string_view kQwenToolsIntro =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
    "function signatures within <tools></tools> XML tags:\n<tools>";
constexpr std::string_view kQwenToolsOutro =
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call><|im_end|>\n";

/// Qwen's system turn when tools are given: the system message (or the template's default one), then
/// the tool block.
void qwen_tools_system(ChatText& out, std::string_view system, bool system_is_markup,
                       const std::vector<OrderedJson>& tools) {
  markup(out, "<|im_start|>system\n");
  if (!system.empty()) {
    add(out, system, system_is_markup);
    markup(out, "\n\n");
  }
  markup(out, kQwenToolsIntro);
  for (const auto& tool : tools) {
    markup(out, "\n");
    content(out, jinja_tojson(tool));
  }
  markup(out, kQwenToolsOutro);
}

/// An assistant's calls as Qwen writes them after the answer's text; verbatim_arguments: Qwen3's
/// template writes arguments given as a string as they are, Qwen2.5's re-writes them with tojson.
void qwen_tool_calls(ChatText& out, const ChatMessage& m, bool has_text, bool verbatim_arguments) {
  for (std::size_t i = 0; i < m.tool_calls.size(); ++i) {
    const ChatToolCall& call = m.tool_calls[i];
    if (i > 0 || has_text) markup(out, "\n");
    markup(out, "<tool_call>\n{\"name\": \"");
    content(out, call.name);
    markup(out, "\", \"arguments\": ");
    content(out, verbatim_arguments ? call.arguments : jinja_tojson(call_arguments(call)));
    markup(out, "}\n</tool_call>");
  }
}

/// A tool result: a run of tool messages shares one user turn, each result in a <tool_response> block.
void qwen_tool_response(ChatText& out, std::span<const ChatMessage> messages, std::size_t i) {
  if (i == 0 || !is_role(messages[i - 1], "tool")) markup(out, "<|im_start|>user");
  markup(out, "\n<tool_response>\n");
  content(out, messages[i].content);
  markup(out, "\n</tool_response>");
  if (i + 1 == messages.size() || !is_role(messages[i + 1], "tool")) markup(out, "<|im_end|>\n");
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

void llama3_header(ChatText& out, std::string_view role) {
  markup(out, "<|start_header_id|>");
  content(out, role);
  markup(out, "<|end_header_id|>\n\n");
}

/// Llama 3.1's template (also 3.2 and 3.3 with their own date lines): a system turn that always opens
/// with the knowledge-cutoff lines; with tools, "Environment: ipython" there and the definitions in the
/// first user turn (the template's default, tools_in_user_message); one JSON call per assistant turn;
/// tool results in ipython turns, written with tojson (a string result becomes a JSON string).
ChatText render_llama31(std::span<const ChatMessage> messages, bool gen,
                        const std::vector<OrderedJson>& tools) {
  std::size_t next = 0;
  std::string system;
  if (!messages.empty() && is_role(messages[0], "system")) system = trim(messages[next++].content);
  ChatText out;
  markup(out, "<|start_header_id|>system<|end_header_id|>\n\n");
  if (!tools.empty()) markup(out, "Environment: ipython\n");
  markup(out, "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
  content(out, system);
  markup(out, "<|eot_id|>");
  if (!tools.empty()) {
    if (next == messages.size())
      fail(Errc::invalid_argument, "Llama 3.1 puts the tool definitions in the first user message: give one");
    llama3_header(out, "user");
    markup(out,
           "Given the following functions, please respond with a JSON for a function call with its proper "
           "arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, "
           "\"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n");
    for (const auto& tool : tools) {
      content(out, jinja_tojson(tool, 4));
      markup(out, "\n\n");
    }
    content(out, trim(messages[next++].content));
    markup(out, "<|eot_id|>");
  }
  for (; next < messages.size(); ++next) {
    const ChatMessage& m = messages[next];
    if (is_role(m, "tool") || is_role(m, "ipython")) {
      markup(out, "<|start_header_id|>ipython<|end_header_id|>\n\n");
      content(out, jinja_tojson(OrderedJson(m.content)));
    } else if (!m.tool_calls.empty()) {
      if (m.tool_calls.size() != 1)
        fail(Errc::invalid_argument, "Llama 3.1 makes one tool call per assistant message, not {}",
             m.tool_calls.size());
      const ChatToolCall& call = m.tool_calls[0];
      llama3_header(out, "assistant");
      markup(out, "{\"name\": \"");
      content(out, call.name);
      markup(out, "\", \"parameters\": ");
      content(out, jinja_tojson(call_arguments(call)));
      markup(out, "}");
    } else {
      llama3_header(out, m.role);
      content(out, trim(m.content));
    }
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

/// Qwen2.5's template (and other ChatML ones): with tools, the system turn carries the tool block; an
/// assistant turn with calls writes them after its text (arguments re-written with tojson).
ChatText render_chatml(const ChatTemplate& t, std::span<const ChatMessage> messages, bool gen,
                       const std::vector<OrderedJson>& tools) {
  ChatText out;
  const bool has_system = !messages.empty() && is_role(messages[0], "system");
  const bool wanted = !messages.empty() || !t.default_system_needs_a_message;
  if (!tools.empty()) {
    qwen_tools_system(out, has_system ? messages[0].content : t.default_system, !has_system, tools);
  } else if (!t.default_system.empty() && wanted && !has_system) {
    markup(out, "<|im_start|>system\n" + t.default_system + "<|im_end|>\n");  // the template's own text
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (i == 0 && has_system && !tools.empty()) continue;  // written in the tool block
    if (is_role(m, "tool")) {
      qwen_tool_response(out, messages, i);
    } else if (is_role(m, "assistant") && !m.tool_calls.empty()) {
      markup(out, "<|im_start|>");
      content(out, m.role);
      if (!m.content.empty()) {
        markup(out, "\n");
        content(out, m.content);
      }
      qwen_tool_calls(out, m, /*has_text=*/true, /*verbatim_arguments=*/false);
      markup(out, "<|im_end|>\n");
    } else {
      chatml_turn(out, m.role, content_only(m.content));
    }
  }
  if (gen) markup(out, "<|im_start|>assistant\n");
  return out;
}

/// ChatML as Qwen3's template writes it: an answer that follows the last question carries its
/// reasoning in a <think> block (an empty one when it is the final message), earlier answers are
/// written without their reasoning. Reasoning is whatever precedes "</think>" in the content.
ChatText render_qwen3(std::span<const ChatMessage> messages, bool gen,
                      const std::vector<OrderedJson>& tools) {
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
  const bool has_system = !messages.empty() && is_role(messages[0], "system");
  if (!tools.empty()) qwen_tools_system(out, has_system ? messages[0].content : "", false, tools);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (i == 0 && has_system && !tools.empty()) continue;  // written in the tool block
    if (is_role(m, "tool")) {
      qwen_tool_response(out, messages, i);
      continue;
    }
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
    qwen_tool_calls(body, m, !text.empty(), /*verbatim_arguments=*/true);
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

/// The values of a call's arguments in the order of the tool's declared parameters (its JSON schema's
/// "properties"), or in the arguments' own order when the tool is not declared with any.
std::vector<std::string> positional_arguments(const ChatToolCall& call,
                                              const std::vector<OrderedJson>& tools) {
  const OrderedJson args = call_arguments(call);
  std::vector<std::string> names;
  for (const auto& tool : tools) {
    const auto& function = tool.value("function", OrderedJson::object());
    if (!function.is_object() || function.value("name", "") != call.name) continue;
    const auto& parameters = function.value("parameters", OrderedJson::object());
    if (parameters.is_object() && parameters.contains("properties") && parameters["properties"].is_object())
      for (auto it = parameters["properties"].begin(); it != parameters["properties"].end(); ++it)
        if (args.contains(it.key())) names.push_back(it.key());
  }
  if (names.empty())
    for (auto it = args.begin(); it != args.end(); ++it) names.push_back(it.key());
  std::vector<std::string> values;
  for (const auto& name : names) {
    const auto& v = args[name];
    values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return values;
}

/// An assistant line with its calls as the multihop agent writes them: the text, then
/// "Action: NAME(arg1, arg2)" per call.
std::string plain_assistant_text(const ChatMessage& m, const std::vector<OrderedJson>& tools) {
  std::string text = m.content;
  for (const auto& call : m.tool_calls) {
    if (!text.empty()) text += ' ';
    text += "Action: " + call.name + "(";
    const auto args = positional_arguments(call, tools);
    for (std::size_t i = 0; i < args.size(); ++i) text += (i ? ", " : "") + args[i];
    text += ")";
  }
  return text;
}

/// Models without a (recognised) template: a readable transcript that ends with "Assistant:", cut into
/// pieces as the agent loop (engine/lag/trace.cpp) tokenizes its prompts, so that a chat through the API
/// gives the shipped multihop model the tokens it was trained on: "User:", then " TEXT", then
/// "\nAssistant:", then " TEXT", and so on. Tool calls are written in the agent's format
/// (plain_assistant_text); tool results are "Tool:" turns, as the agent's observations. Tool definitions
/// have no place in this format: the model knows its tools from training.
/// Gemma's template: turns "<start_of_turn>ROLE\nTEXT<end_of_turn>\n" with the assistant named "model"
/// and the text trimmed; gemma has no system turn, so (as Gemma 3's template does) a leading system
/// message becomes a prefix of the first turn's text, followed by a blank line.
ChatText render_gemma(std::span<const ChatMessage> messages, bool gen) {
  ChatText out;
  std::size_t first = 0;
  std::string prefix;
  if (!messages.empty() && is_role(messages[0], "system")) {
    prefix = messages[0].content + "\n\n";
    first = 1;
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    markup(out, "<start_of_turn>");
    content(out, is_role(m, "assistant") ? "model" : m.role);
    markup(out, "\n");
    if (i == first) content(out, prefix);
    content(out, trim(m.content));
    markup(out, "<end_of_turn>\n");
  }
  if (gen) markup(out, "<start_of_turn>model\n");
  return out;
}

/// Phi-3's template: "<|system|>\n", "<|user|>\n" or "<|assistant|>\n", the text untrimmed, "<|end|>\n";
/// other roles as user turns. Without a generation prompt the template ends with the EOS text.
ChatText render_phi3(const ChatTemplate& t, std::span<const ChatMessage> messages, bool gen) {
  ChatText out;
  for (const ChatMessage& m : messages) {
    const bool named = is_role(m, "system") || is_role(m, "assistant");
    markup(out, named ? "<|" + m.role + "|>\n" : std::string("<|user|>\n"));
    content(out, m.content);
    markup(out, "<|end|>\n");
  }
  markup(out, gen ? std::string("<|assistant|>\n") : t.eos);
  return out;
}

ChatText render_plain(std::span<const ChatMessage> messages, bool gen,
                      const std::vector<OrderedJson>& tools) {
  ChatText out;
  std::string before;  // what separates the next label from the text before it
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (i == 0 && is_role(m, "system")) {
      content(out, m.content);
      markup(out, "\n\n");
      continue;
    }
    std::string name = m.role;
    if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = char(name[0] - 'a' + 'A');
    markup(out, before + name + ":");
    content(out, " " + (m.tool_calls.empty() ? m.content : plain_assistant_text(m, tools)));
    before = "\n";
  }
  if (gen)
    markup(out, before + "Assistant:");
  else if (!before.empty())
    markup(out, "\n");
  return out;
}

}  // namespace

std::string_view chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::plain:
      return "plain";
    case ChatFormat::llama3:
      return "llama3";
    case ChatFormat::llama31:
      return "llama31";
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
    case ChatFormat::gemma:
      return "gemma";
    case ChatFormat::phi3:
      return "phi3";
  }
  return "?";
}

ChatTemplate chat_template_from_jinja(std::string_view jinja, std::string bos, std::string eos) {
  ChatTemplate t;
  t.bos = std::move(bos);
  t.eos = std::move(eos);
  if (contains(jinja, "<|start_header_id|>")) {
    t.format = contains(jinja, "Environment: ipython") ? ChatFormat::llama31 : ChatFormat::llama3;
  } else if (contains(jinja, "<|im_start|>")) {
    t.format = contains(jinja, "<think>") ? ChatFormat::qwen3 : ChatFormat::chatml;
    if (t.format == ChatFormat::chatml) {
      const SystemLiteral found = chatml_default_system(jinja);
      t.default_system = found.text;
      t.default_system_needs_a_message = !found.text.empty() && inside_for_loop(jinja, found.position);
    }
  } else if (contains(jinja, "<start_of_turn>")) {
    t.format = ChatFormat::gemma;
  } else if (contains(jinja, "<|assistant|>") && contains(jinja, "<|end|>")) {
    t.format = ChatFormat::phi3;
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

bool chat_format_has_tools(ChatFormat f) {
  return f == ChatFormat::plain || f == ChatFormat::llama31 || f == ChatFormat::chatml ||
         f == ChatFormat::qwen3;
}

ChatText render_chat_segments(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                              bool add_generation_prompt, std::string_view tools_json) {
  const auto tools = parse_tools(tools_json);
  if (!tools.empty() && !chat_format_has_tools(tmpl.format))
    fail(Errc::invalid_argument,
         "the model's chat format ({}) has no tool format: tools need a Llama 3.1, Qwen2.5/Qwen3 or plain "
         "format",
         chat_format_name(tmpl.format));
  switch (tmpl.format) {
    case ChatFormat::llama3:
      return render_llama3(messages, add_generation_prompt);
    case ChatFormat::llama31:
      return render_llama31(messages, add_generation_prompt, tools);
    case ChatFormat::chatml:
      return render_chatml(tmpl, messages, add_generation_prompt, tools);
    case ChatFormat::qwen3:
      return render_qwen3(messages, add_generation_prompt, tools);
    case ChatFormat::llama2:
      return render_llama2(tmpl, messages);
    case ChatFormat::mistral_v1:
    case ChatFormat::mistral_v3:
    case ChatFormat::mistral_v3_tekken:
      return render_mistral(tmpl, messages);
    case ChatFormat::gemma:
      return render_gemma(messages, add_generation_prompt);
    case ChatFormat::phi3:
      return render_phi3(tmpl, messages, add_generation_prompt);
    case ChatFormat::plain:
      break;
  }
  return render_plain(messages, add_generation_prompt, tools);
}

std::string joined(const ChatText& text) {
  std::string out;
  for (const auto& s : text) out += s.text;
  return out;
}

std::string render_chat(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, std::string_view tools_json) {
  return joined(render_chat_segments(tmpl, messages, add_generation_prompt, tools_json));
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
