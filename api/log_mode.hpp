#pragma once
// The C API's lagvk_log_mode as the engine's LogMode (lagvk_ask, lagvk_ask_chat, lagvk_react).
#include "engine/core/error.hpp"
#include "engine/lag/context_builder.hpp"
#include "lagvk/lagvk.h"

namespace lagvk::api {

inline lag::LogMode log_mode_of(lagvk_log_mode mode) {
  switch (mode) {
    case LAGVK_LOGS_KV:
      return lag::LogMode::kv;
    case LAGVK_LOGS_TEXT:
      return lag::LogMode::text;
    case LAGVK_LOGS_NONE:
      return lag::LogMode::none;
    case LAGVK_LOGS_MAX_ENUM:
      break;
  }
  fail(Errc::invalid_argument, "mode {} is not a lagvk_log_mode (KV, TEXT or NONE)", int(mode));
}

}  // namespace lagvk::api
