#pragma once
// lagvk reports every failure the user can act on as lagvk::Error: a message that says what went
// wrong in library terms (a file, a size, a model; never a command-line flag), and a code an app can
// branch on. The C API returns the code as lagvk_status (api/status.cpp maps one to the other); the CLI
// maps codes to its own hints.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace lagvk {

/// What kind of failure an Error is. Mirrors lagvk_status in include/lagvk/lagvk.h (one value each).
enum class Errc {
  invalid_argument,      ///< a caller passed a value out of range or an inconsistent combination
  file_not_found,        ///< a model file or store directory does not exist
  io,                    ///< a file could not be read or written
  bad_model_file,        ///< not a GGUF file, or a damaged or inconsistent one
  unsupported_model,     ///< a valid model lagvk cannot run
  no_device,             ///< no usable Vulkan device, or the index asked for is missing
  out_of_device_memory,  ///< does not fit on the device
  out_of_host_memory,
  context_full,          ///< the prompt (with its logs) does not fit in the context
  bad_input,             ///< malformed input text (trace JSON, token ids)
  store,                 ///< the log store failed (damaged, locked, read-only, full disk)
  store_model_mismatch,  ///< the store was made with another model
  not_found,             ///< no such log
  device_lost,           ///< the Vulkan device was lost
  cancelled,             ///< a callback asked to stop
  internal,              ///< a broken invariant inside lagvk
};

class Error : public std::runtime_error {
 public:
  /// Errors raised without a code are internal until their throw site is given one.
  explicit Error(const std::string& message, Errc code = Errc::internal)
      : std::runtime_error(message), code_(code) {}
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] Errc code() const { return code_; }

 private:
  Errc code_;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail(Errc code, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(code, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lagvk
