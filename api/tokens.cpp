// Tokens and chat templates: the model's tokenizer and the chat rendering `lagvk run --chat` uses.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "api/model_access.hpp"

namespace lagvk::api {

lagvk_status copy_text(const std::string& s, char* text, std::size_t capacity, std::size_t* len) {
  require(len, "len");
  if (text == nullptr && capacity > 0)
    throw Error(Errc::invalid_argument, "text is NULL but capacity is not 0");
  *len = s.size();
  if (s.size() > capacity)
    return set_error(LAGVK_ERROR_BUFFER_TOO_SMALL,
                     fmt::format("the text needs {} bytes but the buffer holds {}", s.size(), capacity));
  if (!s.empty()) std::memcpy(text, s.data(), s.size());
  if (s.size() < capacity) text[s.size()] = '\0';
  return LAGVK_OK;
}

std::vector<ChatMessage> chat_messages(const lagvk_message* messages, std::size_t n) {
  if (messages == nullptr && n > 0) throw Error(Errc::invalid_argument, "messages is NULL");
  std::vector<ChatMessage> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const lagvk_message& m = messages[i];
    if (m.role == nullptr || m.content == nullptr)
      fail(Errc::invalid_argument, "message {} has a NULL {}", i, m.role == nullptr ? "role" : "content");
    const std::string_view role = m.role;
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      fail(Errc::invalid_argument, "message {} has the role '{}': use system, user, assistant or tool", i,
           role);
    out.push_back({std::string(role), m.content});
  }
  return out;
}

namespace {

std::string_view text_arg(const char* text, std::size_t len) {
  if (text == nullptr && len > 0) throw Error(Errc::invalid_argument, "text is NULL");
  return len == 0 ? std::string_view() : std::string_view(text, len);
}

void check_ids(const Tokenizer& tok, const std::int32_t* tokens, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || std::size_t(tokens[i]) >= tok.vocab_size())
      fail(Errc::bad_input, "token {} (id {}) is outside the model's vocabulary of {} tokens", i, tokens[i],
           tok.vocab_size());
}

}  // namespace
}  // namespace lagvk::api

using namespace lagvk;

extern "C" {

lagvk_status lagvk_tokenize(lagvk_model* model, const char* text, size_t len, int add_bos, int parse_special,
                            int32_t* tokens, size_t capacity, size_t* n_tokens) {
  return api::guarded([&]() -> lagvk_status {
    const api::LockedModel m(model, "model");
    const std::string_view t = api::text_arg(text, len);
    api::require(n_tokens, "n_tokens");
    if (tokens == nullptr && capacity > 0)
      throw Error(Errc::invalid_argument, "tokens is NULL but capacity is not 0");
    const Tokenizer& tok = m.engine().tokenizer();
    const auto ids = tok.encode(t, add_bos != 0 && tok.add_bos_by_default(), parse_special != 0);
    *n_tokens = ids.size();
    if (ids.size() > capacity)
      return api::set_error(
          LAGVK_ERROR_BUFFER_TOO_SMALL,
          fmt::format("the text has {} tokens but the buffer holds {}", ids.size(), capacity));
    std::copy(ids.begin(), ids.end(), tokens);
    return LAGVK_OK;
  });
}

lagvk_status lagvk_detokenize(lagvk_model* model, const int32_t* tokens, size_t n_tokens, char* text,
                              size_t capacity, size_t* len) {
  return api::guarded([&]() -> lagvk_status {
    const api::LockedModel m(model, "model");
    if (tokens == nullptr && n_tokens > 0) throw Error(Errc::invalid_argument, "tokens is NULL");
    const Tokenizer& tok = m.engine().tokenizer();
    api::check_ids(tok, tokens, n_tokens);
    const std::string s =
        tok.decode(std::span<const std::int32_t>(tokens, n_tokens), /*render_special=*/true);
    return api::copy_text(s, text, capacity, len);
  });
}

lagvk_status lagvk_chat_render(lagvk_model* model, const lagvk_message* messages, size_t n_messages,
                               int add_generation_prompt, char* text, size_t capacity, size_t* len) {
  return api::guarded([&]() -> lagvk_status {
    const api::LockedModel m(model, "model");
    const auto chat = api::chat_messages(messages, n_messages);
    const std::string s = render_chat(m.engine().chat_template(), chat, add_generation_prompt != 0);
    return api::copy_text(s, text, capacity, len);
  });
}

}  // extern "C"
