#pragma once
// What the C API's opaque handles are (include/lagvk/lagvk.h). Every handle starts with a tag naming its
// kind; api::checked() refuses a handle whose tag is wrong (a store passed as a model, a freed handle
// whose memory still holds the dead tag) before anything else is touched, so misuse is a status, not a
// crash. Handles are also recorded in a process-wide registry of live handles (api/registry.cpp): the one
// piece of global state in the library, there so that a freed handle is refused rather than read.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/api/batched_generator.hpp"
#include "engine/api/engine.hpp"
#include "lagvk/lagvk.h"

namespace lagvk::api {

enum class HandleKind : std::uint32_t {
  model = 0x4c474d44,        // "LGMD"
  store = 0x4c475354,        // "LGST"
  completion = 0x4c47434d,   // "LGCM"
  log_list = 0x4c474c4c,     // "LGLL"
  device_list = 0x4c47444c,  // "LGDL"
  coprocessor = 0x4c474350,  // "LGCP"
  dead = 0xdeadbeef,
};

}  // namespace lagvk::api

struct lagvk_handle_base {
  explicit lagvk_handle_base(lagvk::api::HandleKind k) : kind(k) {}
  lagvk_handle_base(const lagvk_handle_base&) = delete;
  lagvk_handle_base& operator=(const lagvk_handle_base&) = delete;
  ~lagvk_handle_base() { kind = lagvk::api::HandleKind::dead; }
  lagvk::api::HandleKind kind;
};

struct lagvk_model : lagvk_handle_base {
  lagvk_model() : lagvk_handle_base(lagvk::api::HandleKind::model) {}
  std::unique_ptr<lagvk::Engine> engine;
  std::mutex lock;  ///< every call but lagvk_cancel holds it (the thread contract); a parallel
                    ///< generation holds it to start, and its passes take it one at a time
  /// Counts lagvk_cancel calls: a generation stops when it changes after the generation started.
  std::atomic<std::uint64_t> cancel_epoch{0};
  lagvk_model_info info{};
  std::string architecture, name, chat_format, device_name;  ///< what info's strings point to
  /// Stores and coprocessors open on this model: api::retain_model / api::release_model count them.
  std::atomic<int> open_stores{0};
  bool freed = false;  ///< lagvk_model_free ran while stores were open: the last release deletes it
  /// With n_parallel > 1: runs the generations of concurrent calls in shared passes. Declared after
  /// engine and lock, which it uses, so that it stops first.
  std::unique_ptr<lagvk::BatchedGenerator> batched;
};

struct lagvk_completion : lagvk_handle_base {
  lagvk_completion() : lagvk_handle_base(lagvk::api::HandleKind::completion) {}
  lagvk_completion_info info{};
  std::string text;
  std::vector<std::int32_t> tokens;
  std::vector<std::string> log_tasks, skipped_reasons;  ///< what logs/skipped strings point to
  std::vector<lagvk_log_ref> logs;
  std::vector<lagvk_skipped_log> skipped;
  /// Points info's fields at the members above (call once they are final).
  void publish();
};

struct lagvk_log_list : lagvk_handle_base {
  lagvk_log_list() : lagvk_handle_base(lagvk::api::HandleKind::log_list) {}
  std::vector<std::string> tasks;
  std::vector<lagvk_log_ref> logs;
};

struct lagvk_device_list : lagvk_handle_base {
  lagvk_device_list() : lagvk_handle_base(lagvk::api::HandleKind::device_list) {}
  std::vector<std::string> strings;  ///< reserved up front: devices' pointers into it stay valid
  std::vector<lagvk_device_info> devices;
};

// lagvk_store is defined in api/store_handle.hpp (it needs the log store's headers), lagvk_coprocessor in
// api/coprocessor_handle.hpp.

namespace lagvk::api {

/// A store (or coprocessor) opened on model holds it: call with model->lock held (lagvk_store_open, once
/// the store is made). Increments open_stores.
void retain_model(lagvk_model* model);
/// A store's hold ends (lagvk_store_close, after the store is destroyed, without holding model->lock):
/// decrements open_stores and deletes the model when lagvk_model_free already ran and this was the
/// last store. Exactly one of lagvk_model_free and the releases deletes it (api/model.cpp).
void release_model(lagvk_model* model);

}  // namespace lagvk::api
