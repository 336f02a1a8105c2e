#pragma once
// The code and message of the lagvk::Error a piece of code throws, for tests of error codes.
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "engine/core/error.hpp"

namespace lagvk::test {

/// The code and message of the lagvk::Error `body` throws (a test failure when it throws none).
template <typename F>
std::pair<Errc, std::string> error_of(F&& body) {
  try {
    body();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  ADD_FAILURE() << "no lagvk::Error was thrown";
  return {Errc::internal, ""};
}

}  // namespace lagvk::test
