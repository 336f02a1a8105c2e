#include "engine/lag/ask.hpp"

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {

/// The finished task's log. For `last` the answer's KV is taken from the live sequence: its keys and
/// values are already in the cache (they attended to the placed logs and the question); only the last
/// token still needs its pass. The other selections keep tokens the cache does not hold, and an answer
/// that filled the context leaves no room for that pass: those are encoded again as a trace.
EncodedLog finished_task_log(Engine& engine, BuiltContext& ctx, const Trace& trace, Selection selection,
                             const GenerateResult& r, std::uint32_t answer_start,
                             std::int32_t answer_position) {
  const bool last_pending = ctx.sequence->length() == answer_start + r.tokens.size() - 1;
  const bool context_full = ctx.sequence->length() >= ctx.sequence->max_tokens();
  if (selection != Selection::last || (last_pending && context_full)) {
    ctx.sequence.reset();  // its pages go back to the pool, which the trace's sequence needs
    return encode_trace(engine, trace, selection);
  }
  const std::int32_t last = r.tokens.back(), pos = answer_position + std::int32_t(r.tokens.size()) - 1;
  if (last_pending)
    (void)engine.forward().eval(*ctx.sequence, std::span<const std::int32_t>(&last, 1),
                                std::span<const std::int32_t>(&pos, 1));
  std::vector<std::int32_t> entries(r.tokens.size()), positions(r.tokens.size());
  for (std::size_t i = 0; i < r.tokens.size(); ++i) {
    entries[i] = std::int32_t(answer_start + i);
    positions[i] = answer_position + std::int32_t(i);
  }
  return capture_live(engine, *ctx.sequence, trace, selection, entries, positions, r.tokens);
}

}  // namespace

std::vector<RetrievedLog> given_logs(logstore::Store& store, const std::vector<LogId>& ids) {
  std::vector<RetrievedLog> out;
  auto reader = store.read();
  for (LogId id : ids) {
    std::string task;
    try {
      const auto record = reader.log(id);
      if (!record) fail(Errc::not_found, "log {} is not in the store '{}'", id, store.dir());
      task = record->task;
    } catch (const Error& e) {
      if (e.code() == Errc::not_found) throw;
    }
    out.push_back({id, 0.0, task});
  }
  return out;
}

AskResult ask(Engine& engine, logstore::Store& store, LogLibrary& library, const std::string& question,
              const AskOptions& options, const AskHooks& hooks) {
  LogPrompt prompt;
  if (options.mode != LogMode::none)
    prompt.logs =
        options.log_ids ? given_logs(store, *options.log_ids) : library.retrieve(question, options.k, {});
  prompt.task = Trace{question, {{"user", question}}, options.tags};
  // BOS belongs to the start of a context: after spliced logs the prompt goes without it.
  prompt.tokens =
      render_prompt(prompt.task.messages, engine.tokenizer(), prompt.logs.empty(), &engine.chat_template());
  return answer_with_logs(engine, store, library, prompt, options, hooks);
}

AskResult answer_with_logs(Engine& engine, logstore::Store& store, LogLibrary& library,
                           const LogPrompt& prompt, const AskOptions& options, const AskHooks& hooks) {
  AskResult out;
  // Refused before answering: a saved task whose vector the store cannot take would lose the answer.
  const auto vectors =
      options.save ? embedder_for_new_logs(store, engine, options.embedder, false) : std::nullopt;
  if (options.mode != LogMode::none) out.retrieved = prompt.logs;
  std::vector<LogId> ids;
  for (const auto& l : out.retrieved) ids.push_back(l.id);
  const std::vector<std::int32_t>& tokens = prompt.tokens;
  BuiltContext ctx = build_context(engine, &library, ids, options.mode, tokens);
  for (const auto& u : store.unreadable_logs()) out.skipped.push_back({u.id, u.reason});
  out.skipped.insert(out.skipped.end(), ctx.skipped.begin(), ctx.skipped.end());
  out.skipped_by_context = ctx.skipped;
  out.placed = ctx.logs;
  out.prompt_tokens = std::uint32_t(tokens.size());
  out.logs_ms = ctx.logs_ms;
  out.prompt_prefill_ms = ctx.suffix_ms;
  if (hooks.on_context) hooks.on_context(out);

  const std::uint32_t answer_start = ctx.sequence->length();
  const std::int32_t answer_position = ctx.next_position;
  out.generation = generate_from(engine, *ctx.sequence, ctx.logits, ctx.next_position, options.generate,
                                 hooks.on_token, tokens);
  const GenerateResult& r = out.generation;
  out.generation.timings.prompt_tokens = out.prompt_tokens;
  out.generation.timings.prefill_ms = ctx.suffix_ms;
  out.time_to_first_token_ms = ctx.logs_ms + ctx.suffix_ms + r.timings.time_to_first_token_ms;

  if (options.save && !r.tokens.empty() && (!hooks.should_save || hooks.should_save(r))) {
    Trace trace = prompt.task;
    trace.messages.push_back({"assistant", r.text});
    EncodedLog log =
        finished_task_log(engine, ctx, trace, options.selection, r, answer_start, answer_position);
    ctx.sequence.reset();  // the generator's embedding needs a sequence, and the pool may hold only one
    if (vectors) embed_log(log, *vectors);
    out.saved = hooks.save ? hooks.save(log) : store_log(store, log);
  }
  return out;
}

}  // namespace lagvk::lag
