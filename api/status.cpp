// lagvk_status names, the per-thread last error, and the code mapping.
#include "api/status.hpp"

#include <mutex>
#include <unordered_map>

namespace lagvk::api {

namespace {
thread_local std::string last_error;
}  // namespace

lagvk_status set_error(lagvk_status status, const std::string& message) {
  last_error = message;
  return status;
}

lagvk_status status_of(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return LAGVK_ERROR_INVALID_ARGUMENT;
    case Errc::file_not_found:
      return LAGVK_ERROR_FILE_NOT_FOUND;
    case Errc::io:
      return LAGVK_ERROR_IO;
    case Errc::bad_model_file:
      return LAGVK_ERROR_BAD_MODEL_FILE;
    case Errc::unsupported_model:
      return LAGVK_ERROR_UNSUPPORTED_MODEL;
    case Errc::no_device:
      return LAGVK_ERROR_NO_DEVICE;
    case Errc::out_of_device_memory:
      return LAGVK_ERROR_OUT_OF_DEVICE_MEMORY;
    case Errc::out_of_host_memory:
      return LAGVK_ERROR_OUT_OF_HOST_MEMORY;
    case Errc::context_full:
      return LAGVK_ERROR_CONTEXT_FULL;
    case Errc::bad_input:
      return LAGVK_ERROR_BAD_INPUT;
    case Errc::store:
      return LAGVK_ERROR_STORE;
    case Errc::store_model_mismatch:
      return LAGVK_ERROR_STORE_MODEL_MISMATCH;
    case Errc::not_found:
      return LAGVK_ERROR_NOT_FOUND;
    case Errc::device_lost:
      return LAGVK_ERROR_DEVICE_LOST;
    case Errc::cancelled:
      return LAGVK_ERROR_CANCELLED;
    case Errc::internal:
      return LAGVK_ERROR_INTERNAL;
  }
  return LAGVK_ERROR_INTERNAL;
}

namespace {
struct Registry {
  std::mutex lock;
  std::unordered_map<const void*, HandleKind> live;
};
Registry& registry() {
  static Registry r;  // the library's one process-wide state (see handles.hpp)
  return r;
}
}  // namespace

void register_handle(const lagvk_handle_base* h) {
  auto& r = registry();
  const std::lock_guard guard(r.lock);
  r.live[h] = h->kind;
}

void unregister_handle(const lagvk_handle_base* h) {
  auto& r = registry();
  const std::lock_guard guard(r.lock);
  r.live.erase(h);
}

bool is_live(const void* h, HandleKind kind) {
  auto& r = registry();
  const std::lock_guard guard(r.lock);
  const auto it = r.live.find(h);
  return it != r.live.end() && it->second == kind;
}

}  // namespace lagvk::api

extern "C" {

const char* lagvk_status_name(lagvk_status status) {
  switch (status) {
#define LAGVK_NAME(s) \
  case s:             \
    return #s;
    LAGVK_NAME(LAGVK_OK)
    LAGVK_NAME(LAGVK_ERROR_INVALID_ARGUMENT)
    LAGVK_NAME(LAGVK_ERROR_BUFFER_TOO_SMALL)
    LAGVK_NAME(LAGVK_ERROR_FILE_NOT_FOUND)
    LAGVK_NAME(LAGVK_ERROR_IO)
    LAGVK_NAME(LAGVK_ERROR_BAD_MODEL_FILE)
    LAGVK_NAME(LAGVK_ERROR_UNSUPPORTED_MODEL)
    LAGVK_NAME(LAGVK_ERROR_NO_DEVICE)
    LAGVK_NAME(LAGVK_ERROR_OUT_OF_DEVICE_MEMORY)
    LAGVK_NAME(LAGVK_ERROR_OUT_OF_HOST_MEMORY)
    LAGVK_NAME(LAGVK_ERROR_CONTEXT_FULL)
    LAGVK_NAME(LAGVK_ERROR_BAD_INPUT)
    LAGVK_NAME(LAGVK_ERROR_STORE)
    LAGVK_NAME(LAGVK_ERROR_STORE_MODEL_MISMATCH)
    LAGVK_NAME(LAGVK_ERROR_NOT_FOUND)
    LAGVK_NAME(LAGVK_ERROR_DEVICE_LOST)
    LAGVK_NAME(LAGVK_ERROR_CANCELLED)
    LAGVK_NAME(LAGVK_ERROR_INTERNAL)
#undef LAGVK_NAME
  }
  return "unknown status";
}

const char* lagvk_last_error(void) {
  return lagvk::api::last_error.c_str();
}

}  // extern "C"
