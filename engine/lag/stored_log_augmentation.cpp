#include "engine/lag/stored_log_augmentation.hpp"

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace lagvk::lag {

Trace trace_of_record(const logstore::LogRecord& record) {
  if (!record.trace.is_array() || record.trace.empty())
    fail(Errc::bad_input, "it keeps no trace to encode it from");
  // One definition of a trace's shape: the parser of 'log add' judges it.
  const nlohmann::json j = {{"task", record.task}, {"messages", record.trace}, {"tags", record.tags}};
  auto traces = parse_traces(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "its trace");
  return std::move(traces.front());
}

StoredLogAugmentation augment_stored_log(Engine& engine, logstore::Store& store, logstore::LogId id,
                                         const LogAugmentation& augmentation, bool replace_latents,
                                         const StoreCallWrapper& around_store) {
  const auto on_store = [&](const std::function<void()>& call) {
    if (around_store)
      around_store(call);
    else
      call();
  };
  if (augmentation.coprocessor == nullptr)
    fail(Errc::internal, "internal: augment_stored_log without a coprocessor");
  StoredLogAugmentation out;
  const auto skip = [&](Errc code, const std::string& why) {
    out.outcome = StoredLogAugmentation::Outcome::skipped;
    out.code = code;
    out.reason = fmt::format("log {}: {}", id, why);
    return out;
  };
  std::optional<logstore::LogRecord> old;
  try {
    on_store([&] { old = store.read().log(id); });  // the Reader ends here: the write may grow the map
  } catch (const Error& e) {
    if (e.code() != Errc::store && e.code() != Errc::bad_input) throw;
    return skip(e.code(), e.what());
  }
  if (!old) return skip(Errc::not_found, fmt::format("not in the store '{}'", store.dir()));
  if (old->latents > 0 && !replace_latents) {
    out.outcome = StoredLogAugmentation::Outcome::already_augmented;
    out.latents = old->latents;
    out.tokens = std::uint32_t(old->token_ids.size());
    return out;
  }
  Selection selection = Selection::last;
  Trace trace;
  try {
    selection = parse_selection(old->selection);
    trace = trace_of_record(*old);
  } catch (const Error& e) {
    return skip(Errc::bad_input, e.what());
  }
  EncodedLog log;
  try {
    log = encode_trace(engine, trace, selection, augmentation);
  } catch (const Error& e) {
    // The log's own problems: a trace that does not render, a trace or its latents longer than the
    // context. Anything else (the device, memory) is not the log's.
    if (e.code() != Errc::bad_input && e.code() != Errc::context_full) throw;
    return skip(e.code(), e.what());
  }
  // What identifies the log and finds it stays; what the model computed is new.
  log.record.task = old->task;
  log.record.retrieval_text = old->retrieval_text;
  log.record.tags = old->tags;
  log.record.created = old->created;
  bool replaced = false;
  on_store([&] { replaced = replace_stored_log(store, id, log); });
  if (!replaced) return skip(Errc::not_found, fmt::format("not in the store '{}'", store.dir()));
  out.outcome = StoredLogAugmentation::Outcome::augmented;
  out.latents = log.record.latents;
  out.tokens = std::uint32_t(log.record.token_ids.size());
  return out;
}

}  // namespace lagvk::lag
