// The C API's log stores: open and close, add a finished task, count, retrieve, list, read and remove logs
// (include/lagvk/lagvk.h).
#include <algorithm>
#include <mutex>

#include <nlohmann/json.hpp>

#include "api/coprocessor_handle.hpp"
#include "api/model_access.hpp"
#include "api/status.hpp"
#include "api/store_handle.hpp"
#include "engine/lag/ask.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/stored_log_augmentation.hpp"

namespace lagvk::api {

ModelLocks::ModelLocks(lagvk_model& model, lagvk_model* embed_model) : model_(model.lock, std::defer_lock) {
  if (embed_model == nullptr) {
    model_.lock();
    return;
  }
  embed_model_ = std::unique_lock(embed_model->lock, std::defer_lock);
  std::lock(model_, embed_model_);
}

lagvk_store* checked_store(lagvk_store* store) {
  return checked(store, HandleKind::store, "store");
}

std::unique_ptr<lag::StoreLibrary> library_for(lagvk_store& store, const lagvk_retrieve_params& params,
                                               std::vector<std::string>& tags) {
  if (params.retrieval != LAGVK_RETRIEVE_BM25 && params.retrieval != LAGVK_RETRIEVE_DENSE)
    fail(Errc::invalid_argument, "retrieval {} is not a lagvk_retrieval (BM25 or DENSE)",
         int(params.retrieval));
  tags.clear();
  if (params.tag != nullptr) tags.emplace_back(params.tag);
  std::optional<lag::TextEmbedder> embedder;
  if (params.retrieval == LAGVK_RETRIEVE_DENSE)
    embedder = store.embedder ? *store.embedder : lag::TextEmbedder::generator(*store.model->engine);
  return std::make_unique<lag::StoreLibrary>(*store.store, tags, embedder);
}

lag::Selection selection_of(lagvk_selection selection) {
  switch (selection) {
    case LAGVK_SELECT_LAST:
      return lag::Selection::last;
    case LAGVK_SELECT_ALL:
      return lag::Selection::all;
    case LAGVK_SELECT_ANSWER:
      return lag::Selection::answer;
    case LAGVK_SELECT_FULL:
      return lag::Selection::full;
    case LAGVK_SELECT_MAX_ENUM:
      break;
  }
  fail(Errc::invalid_argument, "selection {} is not a lagvk_selection (LAST, ALL, ANSWER or FULL)",
       int(selection));
}

void require_writable(const lagvk_store& store, const char* what) {
  if (store.read_only)
    fail(Errc::invalid_argument,
         "{}: the log store '{}' was opened read-only; open it without read_only to write", what,
         store.store->dir());
}

namespace {

logstore::StoreOptions store_options(Engine& engine, const lagvk_store_params& params) {
  if (params.codec != LAGVK_CODEC_F16 && params.codec != LAGVK_CODEC_Q8_0)
    fail(Errc::invalid_argument, "codec {} is not a lagvk_page_codec (F16 or Q8_0)", int(params.codec));
  if (params.create && params.read_only)
    fail(Errc::invalid_argument, "a store cannot be created read-only: set create or read_only, not both");
  logstore::StoreOptions o;
  o.create = params.create != 0;
  o.read_only = params.read_only != 0;
  o.codec = params.codec == LAGVK_CODEC_Q8_0 ? logstore::PageCodec::q8_0 : logstore::PageCodec::f16;
  if (params.index_text != LAGVK_INDEX_TASK && params.index_text != LAGVK_INDEX_TASK_AND_RESPONSE)
    fail(Errc::invalid_argument, "index_text {} is not a lagvk_index_text (TASK or TASK_AND_RESPONSE)",
         int(params.index_text));
  o.index_text = params.index_text == LAGVK_INDEX_TASK_AND_RESPONSE ? logstore::IndexText::task_and_response
                                                                    : logstore::IndexText::task;
  o.fingerprint = lag::model_fingerprint(engine);
  return o;
}

/// params.embed_model, checked: a live model handle other than the store's own (NULL stays NULL).
lagvk_model* checked_embed_model(lagvk_model* model, const lagvk_store_params& params) {
  if (params.embed_model == nullptr) return nullptr;
  checked(params.embed_model, HandleKind::model, "params->embed_model");
  if (params.embed_model == model)
    fail(Errc::invalid_argument,
         "params->embed_model is the store's model itself; leave it NULL to embed with the model's own "
         "vectors");
  return params.embed_model;
}

/// The one trace object of trace_json (an array or several lines of them is bad input here).
lag::Trace one_trace(const char* trace_json, std::size_t len) {
  auto traces = lag::parse_traces(std::string_view(trace_json, len), "the trace JSON");
  if (traces.size() != 1)
    fail(Errc::bad_input, "the trace JSON holds {} traces; give exactly one trace object", traces.size());
  return std::move(traces.front());
}

/// lagvk_store_add_trace and lagvk_store_add_trace_ex (`what` names the caller in messages).
lagvk_status add_trace(lagvk_store* store, const char* trace_json, size_t len,
                       const lagvk_add_trace_params* params, uint64_t* id, const char* what) {
  return guarded([&] {
    checked_store(store);
    require(trace_json, "trace_json");
    require(id, "id");
    const lagvk_add_trace_params p = params ? *params : lagvk_add_trace_params_default();
    const lag::Selection keep = selection_of(p.selection);
    const ModelLocks lock(*store);
    require_writable(*store, what);
    lag::LogAugmentation augmentation;
    augmentation.coprocessor = coprocessor_for(p.coprocessor, store->model, p.latents, what);
    augmentation.latents = p.latents;
    const lag::Trace trace = one_trace(trace_json, len);
    Engine& engine = *store->model->engine;
    const auto vectors = lag::embedder_for_new_logs(*store->store, engine, store->embedder, p.embed != 0);
    // Encoded with its latents and written once: no reader ever sees the log unaugmented.
    auto log = lag::encode_trace(engine, trace, keep, augmentation);
    lag::index_log(*store->store, log, vectors);
    *id = lag::store_log(*store->store, log);
  });
}

}  // namespace

}  // namespace lagvk::api

using lagvk::Errc;
using lagvk::fail;
namespace api = lagvk::api;
namespace lag = lagvk::lag;

extern "C" {

lagvk_store_params lagvk_store_params_default(void) {
  const lagvk::logstore::StoreOptions defaults;
  lagvk_store_params p{};
  p.create = defaults.create ? 1 : 0;
  p.read_only = defaults.read_only ? 1 : 0;
  p.codec = defaults.codec == lagvk::logstore::PageCodec::q8_0 ? LAGVK_CODEC_Q8_0 : LAGVK_CODEC_F16;
  p.index_text = defaults.index_text == lagvk::logstore::IndexText::task_and_response
                     ? LAGVK_INDEX_TASK_AND_RESPONSE
                     : LAGVK_INDEX_TASK;
  p.embed_model = nullptr;
  return p;
}

lagvk_status lagvk_store_open(lagvk_model* model, const char* dir, const lagvk_store_params* params,
                              lagvk_store** out) {
  if (out) *out = nullptr;
  return api::guarded([&] {
    api::checked(model, api::HandleKind::model, "model");
    api::require(dir, "dir");
    api::require(out, "out");
    const lagvk_store_params p = *api::require(params, "params");
    lagvk_model* embed_model = api::checked_embed_model(model, p);
    const api::ModelLocks lock(*model, embed_model);
    auto handle = std::make_unique<lagvk_store>();
    handle->store = lagvk::logstore::Store::open(dir, api::store_options(*model->engine, p));
    if (embed_model != nullptr) {
      handle->embedder = lag::TextEmbedder::model(*embed_model->engine);
      handle->store->check_embedder(handle->embedder->fingerprint());
    }
    handle->model = model;
    handle->embed_model = embed_model;
    handle->read_only = p.read_only != 0;
    api::retain_model(model);
    if (embed_model != nullptr) api::retain_model(embed_model);
    api::register_handle(handle.get());
    *out = handle.release();
  });
}

void lagvk_store_close(lagvk_store* store) {
  if (store == nullptr || !api::is_live(store, api::HandleKind::store)) return;
  lagvk_model* model = store->model;
  lagvk_model* embed_model = store->embed_model;
  {
    const api::ModelLocks lock(*model, embed_model);
    api::unregister_handle(store);
    delete store;  // closes the LMDB environment
  }
  api::release_model(model);  // may delete the model: its lock must be released first
  if (embed_model != nullptr) api::release_model(embed_model);
}

lagvk_add_trace_params lagvk_add_trace_params_default(void) {
  lagvk_add_trace_params p{};
  p.selection = LAGVK_SELECT_LAST;
  p.embed = 0;
  p.coprocessor = nullptr;
  p.latents = 0;
  return p;
}

lagvk_status lagvk_store_add_trace_ex(lagvk_store* store, const char* trace_json, size_t len,
                                      const lagvk_add_trace_params* params, uint64_t* id) {
  return api::add_trace(store, trace_json, len, params, id, "lagvk_store_add_trace_ex");
}

lagvk_status lagvk_store_add_trace(lagvk_store* store, const char* trace_json, size_t len,
                                   lagvk_selection selection, int embed, uint64_t* id) {
  lagvk_add_trace_params p = lagvk_add_trace_params_default();
  p.selection = selection;
  p.embed = embed;
  return api::add_trace(store, trace_json, len, &p, id, "lagvk_store_add_trace");
}

lagvk_status lagvk_store_count(lagvk_store* store, uint64_t* logs) {
  return api::guarded([&] {
    api::checked_store(store);
    api::require(logs, "logs");
    const std::lock_guard lock(store->model->lock);
    *logs = store->store->read().ids().size();
  });
}

lagvk_retrieve_params lagvk_retrieve_params_default(void) {
  const lag::AskOptions defaults;
  lagvk_retrieve_params p{};
  p.k = defaults.k;
  p.retrieval = LAGVK_RETRIEVE_BM25;
  p.tag = nullptr;
  return p;
}

lagvk_status lagvk_store_retrieve(lagvk_store* store, const char* query, const lagvk_retrieve_params* params,
                                  lagvk_log_list** out) {
  if (out) *out = nullptr;
  return api::guarded([&] {
    api::checked_store(store);
    api::require(query, "query");
    api::require(out, "out");
    const lagvk_retrieve_params p = *api::require(params, "params");
    const api::ModelLocks lock(*store);
    std::vector<std::string> tags;
    const auto library = api::library_for(*store, p, tags);
    const auto found = library->retrieve(query, p.k, {});
    auto list = std::make_unique<lagvk_log_list>();
    for (const auto& log : found) {
      list->tasks.push_back(log.task);
      list->logs.push_back({log.id, log.score, nullptr, 0, 0});
    }
    for (std::size_t i = 0; i < list->logs.size(); ++i) list->logs[i].task = list->tasks[i].c_str();
    api::register_handle(list.get());
    *out = list.release();
  });
}

size_t lagvk_log_list_size(const lagvk_log_list* list) {
  if (!api::is_live(list, api::HandleKind::log_list)) return 0;
  return list->logs.size();
}

const lagvk_log_ref* lagvk_log_list_get(const lagvk_log_list* list, size_t i) {
  if (!api::is_live(list, api::HandleKind::log_list) || i >= list->logs.size()) return nullptr;
  return &list->logs[i];
}

void lagvk_log_list_free(lagvk_log_list* list) {
  if (!api::is_live(list, api::HandleKind::log_list)) return;
  api::unregister_handle(list);
  delete list;
}

lagvk_status lagvk_store_log_ids(lagvk_store* store, uint64_t* ids, size_t capacity, size_t* n) {
  return api::guarded([&]() -> lagvk_status {
    api::checked_store(store);
    api::require(n, "n");
    if (ids == nullptr && capacity > 0) fail(Errc::invalid_argument, "ids is NULL but capacity is not 0");
    const std::lock_guard lock(store->model->lock);
    const auto all = store->store->read().ids();
    *n = all.size();
    if (all.size() > capacity)
      return api::set_error(
          LAGVK_ERROR_BUFFER_TOO_SMALL,
          fmt::format("the store has {} logs but the buffer holds {}", all.size(), capacity));
    std::copy(all.begin(), all.end(), ids);
    return LAGVK_OK;
  });
}

lagvk_status lagvk_store_log_json(lagvk_store* store, uint64_t id, char* text, size_t capacity, size_t* len) {
  return api::guarded([&]() -> lagvk_status {
    api::checked_store(store);
    const std::lock_guard lock(store->model->lock);
    const auto record = store->store->read().log(id);
    if (!record) fail(Errc::not_found, "log {} is not in the store '{}'", id, store->store->dir());
    nlohmann::json j = *record;
    j["id"] = id;
    return api::copy_text(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), text, capacity,
                          len);
  });
}

lagvk_status lagvk_store_remove(lagvk_store* store, uint64_t id) {
  return api::guarded([&] {
    api::checked_store(store);
    const std::lock_guard lock(store->model->lock);
    api::require_writable(*store, "lagvk_store_remove");
    if (!store->store->remove(id))
      fail(Errc::not_found, "log {} is not in the store '{}'", id, store->store->dir());
  });
}

lagvk_status lagvk_store_augment_log(lagvk_store* store, uint64_t id, const lagvk_coprocessor* coprocessor,
                                     uint32_t latents, int replace, uint32_t* log_latents) {
  return api::guarded([&] {
    api::checked_store(store);
    api::require(coprocessor, "coprocessor");
    const api::ModelLocks lock(*store);
    api::require_writable(*store, "lagvk_store_augment_log");
    lag::LogAugmentation augmentation;
    augmentation.coprocessor =
        api::coprocessor_for(coprocessor, store->model, latents, "lagvk_store_augment_log");
    augmentation.latents = latents;
    const auto r =
        lag::augment_stored_log(*store->model->engine, *store->store, id, augmentation, replace != 0);
    if (r.outcome == lag::StoredLogAugmentation::Outcome::skipped) throw lagvk::Error(r.code, r.reason);
    if (log_latents) *log_latents = r.latents;
  });
}

}  // extern "C"
