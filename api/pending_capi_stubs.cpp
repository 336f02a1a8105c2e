// TEMPORARY (helper B): minimal stand-ins for helper A's functions (api/model.cpp, api/generate.cpp) so
// that branch h19-lag links and its C API tests run alone. Delete this file when merging h19-capi.
#include <mutex>
#include <set>

#include "api/status.hpp"

namespace lagvk::api {

namespace {
std::mutex freed_lock;
std::set<lagvk_model*> freed_models;  // models freed while stores were open
}  // namespace

void retain_model(lagvk_model* model) {
  ++model->open_stores;
}

void release_model(lagvk_model* model) {
  if (--model->open_stores > 0) return;
  const std::lock_guard guard(freed_lock);
  if (freed_models.erase(model) > 0) delete model;
}

}  // namespace lagvk::api

void lagvk_completion::publish() {
  info.text = text.c_str();
  info.text_len = text.size();
  info.tokens = tokens.data();
  info.n_tokens = tokens.size();
  info.logs = logs.data();
  info.n_logs = logs.size();
  info.skipped = skipped.data();
  info.n_skipped = skipped.size();
}

namespace api = lagvk::api;

extern "C" {

lagvk_model_params lagvk_model_params_default(void) {
  const lagvk::LoadOptions o;
  lagvk_model_params p{};
  p.device = o.device;
  p.context_tokens = o.context;
  p.page_tokens = o.page_tokens;
  p.max_batch = o.max_batch;
  return p;
}

lagvk_status lagvk_model_load(const char* path, const lagvk_model_params* params, lagvk_model** out) {
  if (out) *out = nullptr;
  return api::guarded([&] {
    api::require(path, "path");
    api::require(out, "out");
    const lagvk_model_params p = params ? *params : lagvk_model_params_default();
    lagvk::LoadOptions o;
    o.device = p.device;
    o.context = p.context_tokens;
    o.page_tokens = p.page_tokens;
    o.max_batch = p.max_batch;
    auto model = std::make_unique<lagvk_model>();
    model->engine = lagvk::Engine::load(path, o);
    api::register_handle(model.get());
    *out = model.release();
  });
}

void lagvk_model_free(lagvk_model* model) {
  if (!api::is_live(model, api::HandleKind::model)) return;
  api::unregister_handle(model);
  {
    const std::lock_guard guard(api::freed_lock);
    if (model->open_stores > 0) {
      api::freed_models.insert(model);
      return;
    }
  }
  delete model;
}

void lagvk_cancel(lagvk_model* model) {
  if (api::is_live(model, api::HandleKind::model)) model->cancel = true;
}

const lagvk_completion_info* lagvk_completion_get(const lagvk_completion* completion) {
  return api::is_live(completion, api::HandleKind::completion) ? &completion->info : nullptr;
}

void lagvk_completion_free(lagvk_completion* completion) {
  if (!api::is_live(completion, api::HandleKind::completion)) return;
  api::unregister_handle(completion);
  delete completion;
}

}  // extern "C"
