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
  // The Reader ends here: the write may grow the map. Only a damaged record is the log's problem; a
  // failure of the store itself (no free reader slot, a map another process grew badly) is thrown.
  logstore::Store::Reader::Lookup found;
  on_store([&] { found = store.read().lookup(id); });
  if (!found.damage.empty()) return skip(Errc::store, found.damage);
  const std::optional<logstore::LogRecord>& old = found.record;
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
  // Replaced only if the log is still the one read above: the decision to augment it was made from that.
  auto replaced = logstore::Store::Replacement::not_found;
  on_store([&] { replaced = replace_stored_log(store, id, log, &*old); });
  if (replaced == logstore::Store::Replacement::not_found)
    return skip(Errc::not_found, fmt::format("not in the store '{}'", store.dir()));
  if (replaced == logstore::Store::Replacement::changed)
    return skip(Errc::store,
                "the log changed meanwhile (another writer replaced it); it is left as that one");
  out.outcome = StoredLogAugmentation::Outcome::augmented;
  out.latents = log.record.latents;
  out.tokens = std::uint32_t(log.record.token_ids.size());
  return out;
}

}  // namespace lagvk::lag
