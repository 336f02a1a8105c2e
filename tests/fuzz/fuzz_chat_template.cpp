// libFuzzer target: the chat-template renderer. The input is JSON,
//   {"template": "<jinja text>", "add_generation_prompt": true,
//    "messages": [{"role": "user", "content": "..."}, ...]}
// (input that is not of this shape is skipped: it tests nothing of lagvk). The template text is
// recognised as `detect_chat_template` would; then the messages are rendered in every format lagvk has
// and the prompt is tokenized with special tokens on (SentencePiece and BPE) and decoded, as `run --chat`
// does. Bad input must end in lagvk::Error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/chat_template.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace lagvk;

struct ChatInput {
  std::string jinja;
  bool add_generation_prompt = true;
  std::vector<ChatMessage> messages;
};

std::optional<ChatInput> read_input(const std::uint8_t* data, std::size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  ChatInput in;
  if (const auto t = j.find("template"); t != j.end() && t->is_string()) in.jinja = t->get<std::string>();
  if (const auto a = j.find("add_generation_prompt"); a != j.end() && a->is_boolean())
    in.add_generation_prompt = a->get<bool>();
  const auto m = j.find("messages");
  if (m == j.end() || !m->is_array()) return std::nullopt;
  for (const auto& message : *m) {
    if (!message.is_object()) return std::nullopt;
    const auto role = message.find("role"), content = message.find("content");
    if (role == message.end() || !role->is_string() || content == message.end() || !content->is_string())
      return std::nullopt;
    in.messages.push_back({role->get<std::string>(), content->get<std::string>()});
  }
  return in;
}

const Tokenizer& bpe_tokenizer() {
  static const auto tokenizer = fuzz::make_bpe_tokenizer("llama-bpe");
  return *tokenizer;
}

void render_and_tokenize(const ChatTemplate& tmpl, const ChatInput& in) {
  const auto prompt = render_chat(tmpl, in.messages, in.add_generation_prompt);
  for (const Tokenizer* tokenizer : {&fuzz::spm_tokenizer(), &bpe_tokenizer()}) {
    const auto ids = tokenizer->encode(prompt, true, true);
    for (auto id : ids)
      if (id < 0 || std::size_t(id) >= tokenizer->vocab_size())
        fuzz::broken_promise("encode returned a token outside the vocabulary", prompt);
    (void)tokenizer->decode(ids, true);
  }
}

constexpr ChatFormat kFormats[] = {
    ChatFormat::plain,      ChatFormat::llama3,     ChatFormat::llama31,
    ChatFormat::chatml,     ChatFormat::qwen3,      ChatFormat::llama2,
    ChatFormat::mistral_v1, ChatFormat::mistral_v3, ChatFormat::mistral_v3_tekken,
    ChatFormat::gemma,      ChatFormat::phi3};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = read_input(data, size);
  if (!in) return 0;
  fuzz::expect_only_lagvk_errors([&] {
    const auto detected = chat_template_from_jinja(in->jinja, "<s>", "</s>");
    render_and_tokenize(detected, *in);
  });
  for (auto format : kFormats) {
    fuzz::expect_only_lagvk_errors([&] {
      ChatTemplate tmpl;
      tmpl.format = format;
      if (format == ChatFormat::chatml) tmpl.default_system = "You are a helpful assistant.";
      render_and_tokenize(tmpl, *in);
    });
  }
  return 0;
}
