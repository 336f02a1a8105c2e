#pragma once
// The C API's lagvk_store: an open log store bound to the model it was opened with. The store holds its
// model (api::retain_model on open, api::release_model on close), so a model freed while stores are open
// stays loaded until the last of them closes; every call on a store takes its model's lock.
#include <memory>
#include <mutex>
#include <optional>

#include "api/handles.hpp"
#include "engine/lag/embedder.hpp"
#include "engine/lag/store_library.hpp"
#include "engine/lag/trace.hpp"
#include "logstore/store.hpp"

struct lagvk_store : lagvk_handle_base {
  lagvk_store() : lagvk_handle_base(lagvk::api::HandleKind::store) {}
  lagvk_model* model = nullptr;  ///< the model the store was opened with (held until close)
  /// The embedding model of lagvk_store_params (held until close, as `model`), or NULL.
  lagvk_model* embed_model = nullptr;
  /// What makes the store's vectors when it is given: embed_model's (its file hashed once, on open).
  std::optional<lagvk::lag::TextEmbedder> embedder;
  std::unique_ptr<lagvk::logstore::Store> store;
  bool read_only = false;
};

namespace lagvk::api {

/// The locks of a store's calls: its model's and, when it has one, its embedding model's, taken together
/// (std::lock avoids the deadlock of two stores that pair the same two models either way round).
class ModelLocks {
 public:
  ModelLocks(lagvk_model& model, lagvk_model* embed_model);
  explicit ModelLocks(lagvk_store& store) : ModelLocks(*store.model, store.embed_model) {}
  /// The generator's lock alone: a parallel model's ask lets it go while it decodes in the shared passes.
  /// Taking it again while the embedding model's is held cannot deadlock: every holder of both took them
  /// together with std::lock, and the batched passes take the generator's alone.
  [[nodiscard]] std::unique_lock<std::mutex>& model_lock() { return model_; }

 private:
  std::unique_lock<std::mutex> model_, embed_model_;
};

/// The live store handle `store` (else Error(invalid_argument)).
lagvk_store* checked_store(lagvk_store* store);
/// The store's library for retrieval as params say (BM25 or dense, tag filter); `tags` receives the tag.
[[nodiscard]] std::unique_ptr<lag::StoreLibrary> library_for(lagvk_store& store,
                                                             const lagvk_retrieve_params& params,
                                                             std::vector<std::string>& tags);
[[nodiscard]] lag::Selection selection_of(lagvk_selection selection);
/// Error(invalid_argument) when the store was opened read-only; `what` names the call.
void require_writable(const lagvk_store& store, const char* what);

}  // namespace lagvk::api
