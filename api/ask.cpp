// The C API's lagvk_ask: Log-Augmented Generation through the one ask flow `lagvk ask` runs
// (engine/lag/ask.hpp), with the token callback and lagvk_cancel able to stop it.
#include <algorithm>
#include <mutex>

#include "api/status.hpp"
#include "api/store_handle.hpp"
#include "engine/lag/ask.hpp"

namespace lagvk::api {

namespace {

/// lagvk_generate_params as the engine's options (the sampler's fields one to one).
GenerateOptions generate_options_of(const lagvk_generate_params& p) {
  GenerateOptions g;
  g.max_tokens = p.max_tokens;
  g.sampling.temperature = p.temperature;
  g.sampling.top_k = p.top_k;
  g.sampling.top_p = p.top_p;
  g.sampling.min_p = p.min_p;
  g.sampling.repeat_penalty = p.repeat_penalty;
  g.sampling.seed = p.seed;
  g.stop_at_end_of_generation = p.ignore_eos == 0;
  if (p.n_stop > 0 && p.stop == nullptr)
    fail(Errc::invalid_argument, "n_stop is {} but stop is NULL", p.n_stop);
  for (std::size_t i = 0; i < p.n_stop; ++i) {
    if (p.stop[i] == nullptr) fail(Errc::invalid_argument, "stop string {} is NULL", i);
    g.stop_strings.emplace_back(p.stop[i]);
  }
  return g;
}

/// The engine's options as lagvk_generate_params (the defaults' one definition is the engine's).
lagvk_generate_params generate_params_of(const GenerateOptions& g) {
  lagvk_generate_params p{};
  p.max_tokens = g.max_tokens;
  p.temperature = g.sampling.temperature;
  p.top_k = g.sampling.top_k;
  p.top_p = g.sampling.top_p;
  p.min_p = g.sampling.min_p;
  p.repeat_penalty = g.sampling.repeat_penalty;
  p.seed = g.sampling.seed;
  p.ignore_eos = g.stop_at_end_of_generation ? 0 : 1;
  return p;
}

lag::LogMode mode_of(lagvk_log_mode mode) {
  switch (mode) {
    case LAGVK_LOGS_KV:
      return lag::LogMode::kv;
    case LAGVK_LOGS_TEXT:
      return lag::LogMode::text;
    case LAGVK_LOGS_NONE:
      return lag::LogMode::none;
  }
  fail(Errc::invalid_argument, "mode {} is not a lagvk_log_mode (KV, TEXT or NONE)", int(mode));
}

lagvk_stop_reason stop_reason_of(const std::string& reason) {
  if (reason == "end_of_generation") return LAGVK_STOP_END_OF_GENERATION;
  if (reason == "context_full") return LAGVK_STOP_CONTEXT_FULL;
  if (reason == "stop_string") return LAGVK_STOP_STOP_STRING;
  return LAGVK_STOP_MAX_TOKENS;
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
  o.generate = generate_options_of(p.generate);
  return o;
}

/// Streams each token to the caller's callback; its non-zero return, or lagvk_cancel on the model, stops
/// the flow by an exception (the sequence is freed, nothing is saved).
TokenCallback token_callback(lagvk_model& model, const lagvk_generate_params& p) {
  return [&model, fn = p.on_token, user = p.user_data](std::int32_t token, std::string_view text) {
    if (fn != nullptr && fn(user, token, text.data(), text.size()) != 0)
      fail(Errc::cancelled, "the token callback stopped the generation");
    if (model.cancel.load()) fail(Errc::cancelled, "lagvk_cancel stopped the generation");
  };
}

std::unique_ptr<lagvk_completion> completion_of(const lag::AskResult& r) {
  auto c = std::make_unique<lagvk_completion>();
  const GenerateResult& g = r.generation;
  c->text = g.text;
  c->tokens = g.tokens;
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
  info.stop_reason = stop_reason_of(g.stop_reason);
  info.prompt_tokens = r.prompt_tokens;
  info.time_to_first_token_ms = r.time_to_first_token_ms;
  info.prefill_ms = r.prompt_prefill_ms;
  info.decode_ms = g.timings.decode_ms;
  info.decode_tokens_per_s = g.timings.decode_tokens_per_s();
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
    const lagvk::lag::AskOptions options = api::ask_options_of(*store, p, tags);
    lagvk::lag::AskHooks hooks;
    hooks.on_token = api::token_callback(model, p.generate);
    model.cancel.store(false);  // a generation starts: an earlier lagvk_cancel does not stop it
    const auto result = lagvk::lag::ask(*model.engine, *store->store, *library, question, options, hooks);
    auto completion = api::completion_of(result);
    api::register_handle(completion.get());
    *out = completion.release();
  });
}

}  // extern "C"
