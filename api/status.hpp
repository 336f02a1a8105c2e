#pragma once
// The C API's error boundary: every exported function runs its body through api::guarded(), which turns
// lagvk::Error (by its code), std::bad_alloc and any other exception into a lagvk_status and records the
// message for lagvk_last_error() on this thread. No exception crosses into C.
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "api/handles.hpp"
#include "engine/core/error.hpp"

namespace lagvk::api {

/// Records message as this thread's last error and returns status.
lagvk_status set_error(lagvk_status status, const std::string& message);
[[nodiscard]] lagvk_status status_of(Errc code);

/// Registers a new handle as live / forgets it (api/registry.cpp).
void register_handle(const lagvk_handle_base* h);
void unregister_handle(const lagvk_handle_base* h);
/// True when h is a live handle of that kind (a registry lookup: never dereferences an unknown pointer).
[[nodiscard]] bool is_live(const void* h, HandleKind kind);

/// Throws Error(invalid_argument) unless p is non-null; names the argument.
template <typename T>
T* require(T* p, const char* what) {
  if (p == nullptr) throw Error(Errc::invalid_argument, std::string(what) + " is NULL");
  return p;
}

/// The handle, when it is a live handle of this kind; else Error(invalid_argument).
template <typename Handle>
Handle* checked(Handle* h, HandleKind kind, const char* what) {
  require(h, what);
  if (!is_live(h, kind))
    throw Error(Errc::invalid_argument,
                std::string(what) + " is not a live handle of its type (freed already, or another kind)");
  return h;
}

/// Runs body, which returns nothing (LAGVK_OK) or a lagvk_status of its own (BUFFER_TOO_SMALL, which
/// is not an exception: the size needed is an output).
template <typename F>
lagvk_status guarded(F&& body) noexcept {
  try {
    if constexpr (std::is_same_v<decltype(body()), lagvk_status>) {
      return std::forward<F>(body)();
    } else {
      std::forward<F>(body)();
      return LAGVK_OK;
    }
  } catch (const Error& e) {
    return set_error(status_of(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(LAGVK_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return set_error(LAGVK_ERROR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return set_error(LAGVK_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

}  // namespace lagvk::api
