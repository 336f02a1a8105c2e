#include "server/api_error.hpp"

namespace lagvk::server {

ApiError bad_request(const std::string& code, const std::string& message, const std::string& param) {
  return ApiError(400, "invalid_request_error", code, message, param);
}

nlohmann::json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.what()},
            {"type", e.type()},
            {"param", e.param().empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param())},
            {"code", e.code()}}}};
}

}  // namespace lagvk::server
