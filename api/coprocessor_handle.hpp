#pragma once
// The C API's lagvk_coprocessor: a cache-augmentation coprocessor (engine/augment) loaded beside a model.
// It runs on its model's device and reads its model's KV pool, so it holds its model as a store does
// (api::retain_model / api::release_model) and is used only under its model's lock.
#include <memory>

#include "api/handles.hpp"
#include "engine/augment/coprocessor.hpp"

struct lagvk_coprocessor : lagvk_handle_base {
  lagvk_coprocessor() : lagvk_handle_base(lagvk::api::HandleKind::coprocessor) {}
  lagvk_model* model = nullptr;  ///< the model it was loaded for (held until freed)
  std::unique_ptr<lagvk::augment::Coprocessor> coprocessor;
};

namespace lagvk::api {

/// The coprocessor of `handle` for use with `model` (NULL: none): a live coprocessor handle loaded for
/// that model, asked for at most its latents (else Error(invalid_argument), naming `what`).
[[nodiscard]] augment::Coprocessor* coprocessor_for(const lagvk_coprocessor* handle, const lagvk_model* model,
                                                    std::uint32_t latents, const char* what);

}  // namespace lagvk::api
