#include "server/lag_json.hpp"

namespace lagvk::server {

using nlohmann::json;

json lag_json(const LagOutcome& lag) {
  json logs = json::array(), skipped = json::array();
  for (const cpp::LogRef& l : lag.logs)
    logs.push_back({{"id", l.id}, {"score", l.score}, {"tokens", l.tokens}});
  for (const cpp::SkippedLog& s : lag.skipped) skipped.push_back({{"id", s.id}, {"reason", s.reason}});
  return {{"logs", std::move(logs)},
          {"skipped", std::move(skipped)},
          {"saved_log", lag.saved_log ? json(*lag.saved_log) : json(nullptr)}};
}

json augment_json(const AugmentOutcome& augment) {
  return {{"latents", augment.latents}, {"ms", augment.ms}};
}

void add_extension_fields(json& body, const Outcome& outcome) {
  if (outcome.lag) body["lag"] = lag_json(*outcome.lag);
  if (outcome.augment) body["augment"] = augment_json(*outcome.augment);
}

json log_summary(const json& record) {
  const json& ids = record.contains("token_ids") ? record["token_ids"] : json::array();
  return {{"id", record.value("id", std::uint64_t(0))},
          {"object", "lag.log"},
          {"task", record.value("task", "")},
          {"tokens", ids.size()},
          {"latents", record.value("latents", std::uint32_t(0))},
          {"selection", record.value("selection", "")},
          {"tags", record.value("tags", json::array())},
          {"created", record.value("created", std::int64_t(0))}};
}

json log_detail(json record) {
  record["object"] = "lag.log";
  return record;
}

}  // namespace lagvk::server
