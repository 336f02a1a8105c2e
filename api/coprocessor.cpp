// The C API's cache-augmentation coprocessors: load one beside a model, ask its latents, free it
// (include/lagvk/lagvk.h). lagvk_ask, lagvk_ask_chat, lagvk_react and lagvk_store_augment_log take one.
#include "api/coprocessor_handle.hpp"
#include "api/model_access.hpp"
#include "api/status.hpp"

namespace lagvk::api {

static_assert(LAGVK_MAX_LATENTS == augment::kMaxLatents, "lagvk.h's LAGVK_MAX_LATENTS is the engine's bound");

augment::Coprocessor* coprocessor_for(const lagvk_coprocessor* handle, const lagvk_model* model,
                                      std::uint32_t latents, const char* what) {
  if (handle == nullptr) {
    if (latents > 0) fail(Errc::invalid_argument, "{}: latents is {} but coprocessor is NULL", what, latents);
    return nullptr;
  }
  if (!is_live(handle, HandleKind::coprocessor))
    fail(Errc::invalid_argument,
         "{}: coprocessor is not a live coprocessor handle (freed already, or another kind)", what);
  if (handle->model != model)
    fail(Errc::invalid_argument,
         "{}: the coprocessor was loaded for another model handle than the store's; load it with the store's "
         "model",
         what);
  augment::Coprocessor& c = *handle->coprocessor;
  c.check_latents(latents, fmt::format("{}: latents", what));
  return &c;
}

}  // namespace lagvk::api

namespace api = lagvk::api;

extern "C" {

lagvk_status lagvk_coprocessor_load(lagvk_model* model, const char* path, lagvk_coprocessor** out) {
  if (out) *out = nullptr;
  return api::guarded([&] {
    api::require(path, "path");
    api::require(out, "out");
    api::LockedModel m(model, "model");
    if (m.engine().model().config().traits.embedding_only())
      lagvk::fail(lagvk::Errc::unsupported_model,
                  "the model is an embedding model; a cache-augmentation coprocessor augments a decoder");
    auto handle = std::make_unique<lagvk_coprocessor>();
    handle->coprocessor = lagvk::augment::Coprocessor::load(m.engine(), path);
    handle->model = model;
    api::retain_model(model);
    *out = api::adopt(std::move(handle));
  });
}

void lagvk_coprocessor_free(lagvk_coprocessor* coprocessor) {
  if (coprocessor == nullptr || !api::is_live(coprocessor, api::HandleKind::coprocessor)) return;
  lagvk_model* model = coprocessor->model;
  {
    const std::lock_guard lock(model->lock);  // its weights live on the model's device
    api::unregister_handle(coprocessor);
    delete coprocessor;
  }
  api::release_model(model);  // may delete the model: its lock must be released first
}

uint32_t lagvk_coprocessor_latents(const lagvk_coprocessor* coprocessor) {
  if (coprocessor == nullptr || !api::is_live(coprocessor, api::HandleKind::coprocessor)) return 0;
  return coprocessor->coprocessor->latents();
}

lagvk_status lagvk_coprocessor_check_latents(const lagvk_coprocessor* coprocessor, uint32_t latents) {
  return api::guarded([&] {
    if (coprocessor == nullptr || !api::is_live(coprocessor, api::HandleKind::coprocessor))
      lagvk::fail(lagvk::Errc::invalid_argument,
                  "coprocessor is not a live coprocessor handle (NULL, freed already, or another kind)");
    coprocessor->coprocessor->check_latents(latents, "latents");
  });
}

}  // extern "C"
