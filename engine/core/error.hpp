#pragma once
// lagvk reports every failure the user can act on as lagvk::Error: a message that says what went
// wrong and, where possible, what to do about it.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace lagvk {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lagvk
