#pragma once
// Chat prompts in the format a model was trained on. GGUF files carry their Hugging Face Jinja template
// in `tokenizer.chat_template`; lagvk has no Jinja engine, so (like llama.cpp) it recognises the common
// template families by characteristic substrings and renders them with hand-written code:
//
//   llama3   "<|start_header_id|>"        <|start_header_id|>ROLE<|end_header_id|>\n\nTEXT<|eot_id|>
//   llama31  llama3 + "Environment: ipython"  the same turns after a system turn that always carries the
//                                          template's "Cutting Knowledge Date" lines (Llama 3.1-3.3)
//   qwen3    "<|im_start|>" and "<think>"  ChatML, the last answer after the last question gets a
//                                          <think> block
//   chatml   "<|im_start|>"                <|im_start|>ROLE\nTEXT<|im_end|>\n (Qwen2/2.5: the template's
//                                          default system prompt when none is given)
//   llama2   "[INST]" and "<<SYS>>"        [INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nUSER [/INST] ANSWER
//   </s><s>[INST] ... mistral_v1 "[INST]" and " [/INST]"     " [INST] USER [/INST] ANSWER</s>" (Mistral 7B
//   v0.1/v0.2, Mixtral
//                                          8x7B; system prepended to the first user turn)
//   mistral_v3 other "[INST] " templates   "[INST] USER[/INST] ANSWER</s>" (v0.3 and later; system
//                                          prepended to the last user turn)
//   mistral_v3_tekken "[INST]" + quote     "[INST]USER[/INST]ANSWER</s>" (Nemo, Ministral)
//   gemma    "<start_of_turn>"             <start_of_turn>ROLE\nTEXT<end_of_turn>\n, the assistant named
//                                          "model"; a system message prefixes the first turn's text
//   phi3     "<|assistant|>" and "<|end|>" <|ROLE|>\nTEXT<|end|>\n (system, user, assistant)
//   plain    no or unrecognised template   "SYSTEM\n\nUser: TEXT\nAssistant: TEXT\n...Assistant:"
//
// Rendered prompts never start with the BOS token: the tokenizer adds it (add_bos), as llama.cpp does.
// BOS/EOS that a format puts between turns are written as their token text. A rendering is a list of
// segments: the template's markup, tokenized with special-token parsing, and the messages' text (content
// and role names), tokenized as plain text, so that "<|im_start|>system" inside a message stays text and
// cannot forge a turn (encode_chat). Roles other than system/user/assistant render like user
// turns under the role's name where the format has role names (llama3, chatml, qwen3, plain) and as
// user turns elsewhere.
//
// Tools (OpenAI's function tools, their definitions as a JSON array) are rendered as the families that
// have a tool format write them, with the text of each family's own template:
//   qwen3, chatml (Qwen2.5)  a "# Tools" system block with one <tools> line per definition; assistant calls
//                            as <tool_call>\n{"name": .., "arguments": ..}\n</tool_call>; tool results as
//                            <tool_response> blocks inside one user turn per run of tool messages (with or
//                            without tools given)
//   llama31                  "Environment: ipython" in the system turn, the definitions (indented JSON) in
//                            the first user turn, one call per assistant turn as
//                            {"name": .., "parameters": ..}, results in ipython turns (as JSON strings)
//   plain                    the multihop agent's format (engine/lag/agent.hpp): a call is written
//                            "Action: NAME(arg1, arg2)" after the assistant's text, its arguments' values
//                            in the order of the tool's declared parameters; results are "Tool:" turns;
//                            the definitions are not written (the model knows its tools from training)
// Other families have no tool format: giving them tools is Errc::invalid_argument.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk {

class GgufFile;

enum class ChatFormat {
  plain,
  llama3,
  llama31,
  chatml,
  qwen3,
  llama2,
  mistral_v1,
  mistral_v3,
  mistral_v3_tekken,
  gemma,
  phi3
};

[[nodiscard]] std::string_view chat_format_name(ChatFormat f);

struct ChatTemplate {
  ChatFormat format = ChatFormat::plain;
  std::string default_system;  ///< chatml: system prompt the template adds when a chat has none
  /// chatml: the template writes default_system inside its loop over the messages (SmolLM2:
  /// "{% if loop.first and messages[0]['role'] != 'system' %}"), so an empty chat gets none; Qwen2.5
  /// writes it before the loop, into every chat.
  bool default_system_needs_a_message = false;
  std::string bos = "<s>";  ///< token texts that llama2/mistral formats write between turns
  std::string eos = "</s>";
};

/// A function call an assistant message made (OpenAI's tool_calls[i]).
struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  ///< JSON text of the arguments object, as OpenAI carries it
};

struct ChatMessage {
  std::string role;  ///< "system", "user", "assistant", "tool"
  std::string content;
  std::vector<ChatToolCall> tool_calls = {};  ///< an assistant's calls
  std::string tool_call_id = {};              ///< a tool message: the call it answers
};

/// True when the family has a tool format (see the list above).
[[nodiscard]] bool chat_format_has_tools(ChatFormat f);

/// Recognises a Jinja chat template's family; bos/eos are the model's token texts.
[[nodiscard]] ChatTemplate chat_template_from_jinja(std::string_view jinja, std::string bos = "<s>",
                                                    std::string eos = "</s>");

/// The template of a GGUF model (tokenizer.chat_template, with BOS/EOS texts from its vocabulary);
/// plain when the file has none or one lagvk does not recognise.
[[nodiscard]] ChatTemplate detect_chat_template(const GgufFile& file);

/// A piece of a rendered chat: the template's own markup (special-token texts allowed) or text from
/// the messages (never special).
struct ChatSegment {
  std::string text;
  bool markup = false;
};
using ChatText = std::vector<ChatSegment>;

/// The prompt for a conversation as segments; with add_generation_prompt it ends where the assistant's
/// answer begins. tools_json: a JSON array of tool definitions ({"type": "function", "function": {...}}),
/// "" for none. A malformed array, arguments that are not a JSON object where the format re-writes them,
/// or tools for a family without a tool format are Errc::invalid_argument.
[[nodiscard]] ChatText render_chat_segments(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                                            bool add_generation_prompt, std::string_view tools_json = {});
/// The same prompt as one string (for display and tests; tokenize with encode_chat, not encode).
[[nodiscard]] std::string render_chat(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                                      bool add_generation_prompt, std::string_view tools_json = {});
/// The segments' text, concatenated.
[[nodiscard]] std::string joined(const ChatText& text);
/// Views of the segments for Tokenizer::encode_segments (markup parses special tokens); they refer to
/// text, which must outlive them.
[[nodiscard]] std::vector<TextSegment> text_segments(const ChatText& text);
/// Token ids of a rendered chat: markup with special tokens, message text as plain text.
[[nodiscard]] std::vector<std::int32_t> encode_chat(const Tokenizer& tok, const ChatText& text, bool add_bos);

}  // namespace lagvk
