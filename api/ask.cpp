// The C API's lagvk_ask: Log-Augmented Generation through the one ask flow `lagvk ask` runs
// (engine/lag/ask.hpp), with the token callback and lagvk_cancel able to stop it (api::Cancellation, as
// every generation of the C API).
#include <algorithm>
#include <mutex>

#include "api/model_access.hpp"
#include "api/status.hpp"
#include "api/store_handle.hpp"
#include "engine/lag/ask.hpp"

namespace lagvk::api {

namespace {

lag::LogMode mode_of(lagvk_log_mode mode) {
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

lag::AskOptions ask_options_of(const lagvk_store& store, const lagvk_ask_params& p,
                               const std::vector<std::string>& tags) {
  lag::AskOptions o;
  o.mode = mode_of(p.mode);
  o.k = p.retrieve.k;
  if (p.log_ids != nullptr) o.log_ids = std::vector<lag::LogId>(p.log_ids, p.log_ids + p.n_log_ids);
  if (p.log_ids == nullptr && p.n_log_ids > 0)
    fail(Errc::invalid_argument, "n_log_ids is {} but log_ids is NULL", p.n_log_ids);
  o.tags = tags;
  o.save = p.save != 0;
  if (o.save) require_writable(store, "lagvk_ask with save");
  o.selection = selection_of(p.selection);
  o.generate = generate_options(p.generate);
  return o;
}

/// The generation's completion (api::completion_of) with the LAG fields: the placed and skipped logs, the
/// saved id, and a time to first token that counts placing the logs.
std::unique_ptr<lagvk_completion> ask_completion_of(const lag::AskResult& r) {
  auto c = completion_of(r.generation);
  for (const auto& placed : r.placed) {
    const auto it = std::find_if(r.retrieved.begin(), r.retrieved.end(),
                                 [&](const lag::RetrievedLog& l) { return l.id == placed.id; });
    c->log_tasks.push_back(it != r.retrieved.end() ? it->task : std::string());
    c->logs.push_back({placed.id, it != r.retrieved.end() ? it->score : 0.0, nullptr, placed.tokens,
                       placed.first_position});
  }
  for (const auto& s : r.skipped) {
    c->skipped_reasons.push_back(s.reason);
    c->skipped.push_back({s.id, nullptr});
  }
  for (std::size_t i = 0; i < c->logs.size(); ++i) c->logs[i].task = c->log_tasks[i].c_str();
  for (std::size_t i = 0; i < c->skipped.size(); ++i) c->skipped[i].reason = c->skipped_reasons[i].c_str();
  lagvk_completion_info& info = c->info;
  info.prompt_tokens = r.prompt_tokens;
  info.time_to_first_token_ms = r.time_to_first_token_ms;
  info.prefill_ms = r.prompt_prefill_ms;
  info.logs_ms = r.logs_ms;
  info.has_saved_log = r.saved ? 1 : 0;
  info.saved_log = r.saved.value_or(0);
  c->publish();
  return c;
}

}  // namespace

}  // namespace lagvk::api

namespace api = lagvk::api;

extern "C" {

lagvk_ask_params lagvk_ask_params_default(void) {
  const lagvk::lag::AskOptions defaults;
  lagvk_ask_params p{};
  p.mode = defaults.mode == lagvk::lag::LogMode::kv     ? LAGVK_LOGS_KV
           : defaults.mode == lagvk::lag::LogMode::text ? LAGVK_LOGS_TEXT
                                                        : LAGVK_LOGS_NONE;
  p.retrieve = lagvk_retrieve_params_default();
  p.log_ids = nullptr;
  p.n_log_ids = 0;
  p.save = defaults.save ? 1 : 0;
  for (const lagvk_selection s :
       {LAGVK_SELECT_LAST, LAGVK_SELECT_ALL, LAGVK_SELECT_ANSWER, LAGVK_SELECT_FULL})
    if (api::selection_of(s) == defaults.selection) p.selection = s;
  p.generate = api::generate_params_of(defaults.generate);
  return p;
}

lagvk_status lagvk_ask(lagvk_store* store, const char* question, const lagvk_ask_params* params,
                       lagvk_completion** out) {
  if (out) *out = nullptr;
  return api::guarded([&] {
    api::checked_store(store);
    api::require(question, "question");
    api::require(out, "out");
    const lagvk_ask_params p = *api::require(params, "params");
    lagvk_model& model = *store->model;
    const std::lock_guard lock(model.lock);
    std::vector<std::string> tags;
    const auto library = api::library_for(*store, p.retrieve, tags);
    lagvk::lag::AskOptions options = api::ask_options_of(*store, p, tags);
    const api::Cancellation cancellation(model, p.generate, options.generate);
    lagvk::lag::AskHooks hooks;
    hooks.on_token = cancellation.on_token();
    const auto result = lagvk::lag::ask(*model.engine, *store->store, *library, question, options, hooks);
    auto completion = api::ask_completion_of(result);
    api::register_handle(completion.get());
    *out = completion.release();
  });
}

}  // extern "C"
