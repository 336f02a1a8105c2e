#include "engine/lag/log_writer.hpp"

#include <chrono>
#include <numeric>

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {

logstore::LogRecord record_of(const Trace& trace, Selection selection) {
  logstore::LogRecord r;
  r.task = trace.task;
  r.retrieval_text = trace.task;
  r.selection = std::string(selection_name(selection));
  r.trace = nlohmann::json::array();
  for (const auto& m : trace.messages) r.trace.push_back({{"role", m.role}, {"content", m.content}});
  r.tags = trace.tags;
  r.created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return r;
}

}  // namespace

EncodedLog encode_trace(Engine& engine, const Trace& trace, Selection selection,
                        const LogAugmentation& augmentation) {
  const RenderedTrace rendered = render_trace(trace, engine.tokenizer(), selection, &engine.chat_template());
  auto seq = engine.new_sequence();
  if (rendered.tokens.size() > seq->max_tokens())
    fail(Errc::context_full,
         "trace '{}' has {} tokens but the context holds {}; "
         "load the model with a larger context",
         trace.task, rendered.tokens.size(), seq->max_tokens());
  std::vector<std::int32_t> positions(rendered.tokens.size());
  std::iota(positions.begin(), positions.end(), 0);
  (void)engine.forward().eval(*seq, rendered.tokens, positions);
  std::vector<std::int32_t> token_ids;
  for (auto i : rendered.selected) token_ids.push_back(rendered.tokens[std::size_t(i)]);
  // Entries and positions coincide: the trace was evaluated from entry 0 at position 0, and latents
  // follow it at the next entries and positions.
  std::vector<std::int32_t> entries = rendered.selected;
  std::uint32_t latents = 0;
  if (augmentation.coprocessor != nullptr) {
    const std::int32_t end = std::int32_t(rendered.tokens.size());
    const Augmentation a = augmentation.coprocessor->augment(*seq, end, augmentation.latents);
    latents = std::uint32_t(a.latents.size() / engine.config().dim);
    for (std::uint32_t i = 0; i < latents; ++i) entries.push_back(end + std::int32_t(i));
  }
  EncodedLog log = capture_live(engine, *seq, trace, selection, entries, entries, token_ids);
  log.record.latents = latents;
  return log;
}

EncodedLog capture_live(Engine& engine, const KvSequence& seq, const Trace& trace, Selection selection,
                        std::span<const std::int32_t> entries, std::span<const std::int32_t> positions,
                        std::span<const std::int32_t> token_ids) {
  EncodedLog out;
  out.record = record_of(trace, selection);
  // Entries past the token ids are latents (set by the caller in record.latents).
  out.record.token_ids.assign(token_ids.begin(), token_ids.end());
  out.record.positions.assign(positions.begin(), positions.end());
  out.kv = capture_log_kv(engine.context(), seq, entries, positions, rope_args(engine.forward().weights()),
                          engine.config().layers);
  return out;
}

namespace {

logstore::LogKvInput kv_input(const EncodedLog& log) {
  logstore::LogKvInput in;
  in.tokens = log.kv.tokens;
  for (std::size_t l = 0; l < log.kv.k.size(); ++l) {
    in.k.emplace_back(log.kv.k[l]);
    in.v.emplace_back(log.kv.v[l]);
  }
  return in;
}

}  // namespace

logstore::LogId store_log(logstore::Store& store, const EncodedLog& log) {
  return store.put_log(log.record, kv_input(log), log.embedding, log.embedder);
}

logstore::Store::Replacement replace_stored_log(logstore::Store& store, logstore::LogId id,
                                                const EncodedLog& log, const logstore::LogRecord* expected) {
  return store.replace_log(id, log.record, kv_input(log), expected);
}

}  // namespace lagvk::lag
