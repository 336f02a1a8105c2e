#pragma once
// The errors the server answers with, in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
// Request parsing, validation and generation throw ApiError; the HTTP layer turns it into a response, so
// bad input never reaches further than an error body.
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace lagvk::server {

class ApiError : public std::runtime_error {
 public:
  /// http_status: 400, 401, 404, 413, 500, 503; type: "invalid_request_error", "authentication_error",
  /// "server_error"; code: a stable name clients branch on ("context_length_exceeded"); param: the request
  /// field at fault, or "" for none.
  ApiError(int http_status, std::string type, std::string code, const std::string& message,
           std::string param = "")
      : std::runtime_error(message),
        http_status_(http_status),
        type_(std::move(type)),
        code_(std::move(code)),
        param_(std::move(param)) {}

  [[nodiscard]] int http_status() const noexcept { return http_status_; }
  [[nodiscard]] const std::string& type() const noexcept { return type_; }
  [[nodiscard]] const std::string& code() const noexcept { return code_; }
  [[nodiscard]] const std::string& param() const noexcept { return param_; }

 private:
  int http_status_;
  std::string type_, code_, param_;
};

/// 400 invalid_request_error with the given code and the field it concerns.
[[nodiscard]] ApiError bad_request(const std::string& code, const std::string& message,
                                   const std::string& param = "");

/// The response body for an error.
[[nodiscard]] nlohmann::json error_body(const ApiError& e);

}  // namespace lagvk::server
