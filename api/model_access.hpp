#pragma once
// What the model-level C API files share (api/model.cpp, tokens.cpp, generate.cpp, embed.cpp): a live
// model taken under its lock, new handles made live, the text-buffer contract and chat messages.
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "api/status.hpp"
#include "engine/tokenizer/chat_template.hpp"

namespace lagvk::api {

/// A live model with its lock held for as long as this lives (the header's thread contract); refuses
/// a NULL, freed or wrong-kind handle with Error(invalid_argument).
class LockedModel {
 public:
  LockedModel(lagvk_model* model, const char* what)
      : model_(checked(model, HandleKind::model, what)), guard_(model_->lock) {}
  [[nodiscard]] lagvk_model& handle() const { return *model_; }
  [[nodiscard]] Engine& engine() const { return *model_->engine; }
  /// Lets other calls run (a parallel generation waits without the lock; its passes take it).
  void unlock() { guard_.unlock(); }

 private:
  lagvk_model* model_;
  std::unique_lock<std::mutex> guard_;
};

/// Registers a new handle as live and hands it to the caller.
template <typename Handle>
Handle* adopt(std::unique_ptr<Handle> handle) {
  register_handle(handle.get());
  return handle.release();
}

/// Sets *out to NULL (the header: on failure an output handle is NULL) after checking out itself.
template <typename Handle>
void clear_output(Handle** out) {
  require(out, "out");
  *out = nullptr;
}

/// The caller-buffer contract of lagvk_detokenize and lagvk_chat_render: *len = bytes needed; the text
/// and, when there is room, a terminator are written only when it fits; else BUFFER_TOO_SMALL.
[[nodiscard]] lagvk_status copy_text(const std::string& s, char* text, std::size_t capacity,
                                     std::size_t* len);

/// The messages as the chat template takes them; NULL arrays, roles or contents and unknown roles are
/// Error(invalid_argument).
[[nodiscard]] std::vector<ChatMessage> chat_messages(const lagvk_message* messages, std::size_t n);

/// The messages of lagvk_chat_*_ex as the chat template takes them (tool calls parsed from their JSON);
/// NULL arrays or roles, unknown roles and malformed tool calls are Error(invalid_argument).
[[nodiscard]] std::vector<ChatMessage> chat_messages_ex(const lagvk_chat_message* messages, std::size_t n);
/// The prompt of lagvk_chat_*_ex: the chat, its tools (params->tools_json), then params->assistant_prefix
/// as template markup.
[[nodiscard]] ChatText render_chat_ex(Engine& engine, std::span<const ChatMessage> chat,
                                      const lagvk_chat_params* params);

/// The engine's generation options for p (NaN or out-of-range sampling values, NULL stop strings are
/// Error(invalid_argument)).
[[nodiscard]] GenerateOptions generate_options(const lagvk_generate_params& p);
/// The C parameters of the engine's options (the defaults' one definition is the engine's).
[[nodiscard]] lagvk_generate_params generate_params_of(const GenerateOptions& g);

/// Wires a generation on model to the C API's cancellation: the params' token callback (a non-zero return
/// stops) and lagvk_cancel both reach the engine through options.stop_requested, which ends generation at
/// the next token with Errc::cancelled. A lagvk_cancel before this call is not for it (the cancel epoch
/// it started in). Lives as long as the generation (the options refer to it); lagvk_ask uses it the same way.
class Cancellation {
 public:
  Cancellation(lagvk_model& model, const lagvk_generate_params& p, GenerateOptions& options);
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;
  /// The callback to pass to the engine (empty when the params have none).
  [[nodiscard]] const TokenCallback& on_token() const { return on_token_; }

 private:
  std::atomic<bool> callback_stopped_{false};
  TokenCallback on_token_;
};

/// Generates after prompt in a fresh sequence of the locked model, or in one of its parallel slots (then
/// without the lock), and hands out the completion (prompt ids outside the vocabulary are
/// Error(bad_input)).
void run_generation(LockedModel& m, std::span<const std::int32_t> prompt, const lagvk_generate_params& p,
                    lagvk_completion** out);

/// A completion holding r (text, tokens, stop reason, timings), published; LAG fields left empty.
[[nodiscard]] std::unique_ptr<lagvk_completion> completion_of(GenerateResult r);

}  // namespace lagvk::api
