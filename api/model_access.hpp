#pragma once
// What the model-level C API files share (api/model.cpp, tokens.cpp, generate.cpp, embed.cpp): a live
// model taken under its lock, new handles made live, the text-buffer contract and chat messages.
#include <cstddef>
#include <memory>
#include <mutex>
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

 private:
  lagvk_model* model_;
  std::lock_guard<std::mutex> guard_;
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

}  // namespace lagvk::api
