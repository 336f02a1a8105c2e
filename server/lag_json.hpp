#pragma once
// The JSON of the LAG extension (docs/SERVER.md): a chat response's "lag" object, and the bodies of the
// /v1/logs routes made from the store's records (lagvk_store_log_json).
#include <nlohmann/json.hpp>

#include "server/generation.hpp"

namespace lagvk::server {

/// {"logs": [{"id", "score", "tokens"}], "skipped": [{"id", "reason"}], "saved_log": ID or null}.
[[nodiscard]] nlohmann::json lag_json(const LagOutcome& lag);

/// {"latents", "ms"}: what the coprocessor appended for an `augment` request.
[[nodiscard]] nlohmann::json augment_json(const AugmentOutcome& augment);

/// Adds the extension objects an outcome has to a response body or a stream's last chunk: "lag" and
/// "augment".
void add_extension_fields(nlohmann::json& body, const Outcome& outcome);

/// A log as GET /v1/logs lists it: {"id", "object": "lag.log", "task", "tokens", "selection", "tags",
/// "created"}, from its record's JSON.
[[nodiscard]] nlohmann::json log_summary(const nlohmann::json& record);

/// A log as GET /v1/logs/{id} shows it: the whole record with "object": "lag.log".
[[nodiscard]] nlohmann::json log_detail(nlohmann::json record);

}  // namespace lagvk::server
