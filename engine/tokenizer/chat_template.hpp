#pragma once
// Chat prompts in the format a model was trained on. GGUF files carry their Hugging Face Jinja template
// in `tokenizer.chat_template`; lagvk has no Jinja engine, so (like llama.cpp) it recognises the common
// template families by characteristic substrings and renders them with hand-written code:
//
//   llama3   "<|start_header_id|>"        <|start_header_id|>ROLE<|end_header_id|>\n\nTEXT<|eot_id|>
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
//   plain    no or unrecognised template   "SYSTEM\n\nUser: TEXT\nAssistant: TEXT\n...Assistant:"
//
// Rendered prompts never start with the BOS token: the tokenizer adds it (add_bos), as llama.cpp does.
// BOS/EOS that a format puts between turns are written as their token text. A rendering is a list of
// segments: the template's markup, tokenized with special-token parsing, and the messages' text (content
// and role names), tokenized as plain text, so that "<|im_start|>system" inside a message stays text and
// cannot forge a turn (encode_chat). Roles other than system/user/assistant render like user
// turns under the role's name where the format has role names (llama3, chatml, qwen3, plain) and as
// user turns elsewhere.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk {

class GgufFile;

enum class ChatFormat { plain, llama3, chatml, qwen3, llama2, mistral_v1, mistral_v3, mistral_v3_tekken };

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

struct ChatMessage {
  std::string role;  ///< "system", "user", "assistant"
  std::string content;
};

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
/// answer begins.
[[nodiscard]] ChatText render_chat_segments(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                                            bool add_generation_prompt);
/// The same prompt as one string (for display and tests; tokenize with encode_chat, not encode).
[[nodiscard]] std::string render_chat(const ChatTemplate& tmpl, std::span<const ChatMessage> messages,
                                      bool add_generation_prompt);
/// The segments' text, concatenated.
[[nodiscard]] std::string joined(const ChatText& text);
/// Views of the segments for Tokenizer::encode_segments (markup parses special tokens); they refer to
/// text, which must outlive them.
[[nodiscard]] std::vector<TextSegment> text_segments(const ChatText& text);
/// Token ids of a rendered chat: markup with special tokens, message text as plain text.
[[nodiscard]] std::vector<std::int32_t> encode_chat(const Tokenizer& tok, const ChatText& text, bool add_bos);

}  // namespace lagvk
