#include "engine/lag/ask.hpp"

#include <algorithm>
#include <chrono>

#include "engine/core/error.hpp"
#include "engine/lag/log_budget.hpp"

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

/// The answer as a finished task keeps it: without the stop string that ended it (a stop string ends a
/// step; it is not part of the answer, as OpenAI's API and the agents' transcripts leave it out). Whole
/// tokens: the last tokens go until the text no longer holds the stop string.
GenerateResult kept_answer(const Tokenizer& tok, const GenerateResult& r,
                           const std::vector<std::string>& stops) {
  GenerateResult out = r;
  if (r.stop_reason != "stop_string") return out;
  const auto holds_stop = [&](const std::string& text) {
    return std::any_of(stops.begin(), stops.end(),
                       [&](const std::string& s) { return !s.empty() && text.find(s) != std::string::npos; });
  };
  while (!out.tokens.empty() && holds_stop(out.text)) {
    out.tokens.pop_back();
    out.text = tok.decode(out.tokens);
  }
  return out;
}

/// What a finished request leaves for the next step of its task (Engine::keep_lag_context): its context
/// (logs and then the prompt and answer), which logs were asked for in which mode, the store's count of
/// in-place replacements when they were read, and the tokens the entries after the logs hold.
struct KeptLagContext {
  LogMode mode = LogMode::kv;
  std::vector<LogId> requested;
  /// Store::replacements() before the logs were read: a log replaced since (log augment, here or in
  /// another process) has other content under the same id, so the kept KV may be stale.
  std::uint64_t replacements = 0;
  BuiltContext context;            ///< sequence, placed and skipped logs (no logits)
  std::uint32_t prompt_entry = 0;  ///< the entry where the prompt begins (after the logs)
  std::int32_t prompt_position = 0;
  std::vector<std::int32_t> held;  ///< the tokens of entries prompt_entry..
};

/// The kept context cut to the prefix its prompt shares with `tokens` and the rest of `tokens` evaluated
/// after it: the same logs, unreplaced since (`replacements`), in the same mode and at least half of what
/// it held (an agent's next step). nullopt when it cannot serve (it is then dropped). `reused` counts the
/// prompt tokens not evaluated.
std::optional<BuiltContext> reuse_kept(Engine& engine, std::shared_ptr<KeptLagContext> kept, LogMode mode,
                                       const std::vector<LogId>& ids, std::uint64_t replacements,
                                       std::span<const std::int32_t> tokens, std::uint32_t& reused) {
  reused = 0;
  if (!kept || kept->mode != mode || kept->requested != ids || kept->replacements != replacements ||
      !kept->context.sequence)
    return std::nullopt;
  KvSequence& seq = *kept->context.sequence;
  if (std::uint64_t(kept->prompt_entry) + tokens.size() > seq.max_tokens()) return std::nullopt;
  const std::size_t shared = reusable_prefix(kept->held, tokens);
  if (shared == 0 || shared * 2 < kept->held.size()) return std::nullopt;
  BuiltContext ctx = std::move(kept->context);
  ctx.sequence->truncate(kept->prompt_entry + std::uint32_t(shared));
  const auto suffix = tokens.subspan(shared);
  std::vector<std::int32_t> positions(suffix.size());
  for (std::size_t i = 0; i < positions.size(); ++i)
    positions[i] = kept->prompt_position + std::int32_t(shared + i);
  const auto t0 = std::chrono::steady_clock::now();
  ctx.logits = engine.forward().eval(*ctx.sequence, suffix, positions);
  ctx.suffix_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ctx.logs_ms = 0;
  ctx.next_position = kept->prompt_position + std::int32_t(tokens.size());
  reused = std::uint32_t(shared);
  return ctx;
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
  prompt.tokens = render_prompt(prompt.task.messages, engine.tokenizer(), &engine.chat_template());
  return answer_with_logs(engine, store, library, prompt, options, hooks);
}

AskResult answer_with_logs(Engine& engine, logstore::Store& store, LogLibrary& library,
                           const LogPrompt& prompt, const AskOptions& options, const AskHooks& hooks) {
  AskResult out;
  // Refused before answering: a saved task whose vector the store cannot take would lose the answer.
  const auto vectors =
      options.save ? embedder_for_new_logs(store, engine, options.embedder, false) : std::nullopt;
  if (options.mode != LogMode::none) out.retrieved = prompt.logs;
  const std::vector<std::int32_t>& tokens = prompt.tokens;
  // The context budget: the prompt and the answer first; the logs that do not fit beside them go,
  // lowest score first.
  std::vector<SkippedLog> dropped;
  const std::vector<LogId> ids = fit_logs(engine, library, out.retrieved, options.mode, tokens.size(),
                                          options.generate.max_tokens, dropped);
  // An agent's next step with the same logs continues the context its last step left (prefix reuse).
  std::uint32_t reused = 0;
  const bool augmenting = options.augmentation.coprocessor != nullptr;
  const bool reuse = options.reuse_context && !augmenting;
  auto last = std::static_pointer_cast<KeptLagContext>(engine.take_lag_context());
  // Read before the logs are: a replacement after this read makes the next request place them afresh.
  const std::uint64_t replacements = reuse ? store.replacements() : 0;
  std::optional<BuiltContext> continued =
      reuse ? reuse_kept(engine, std::move(last), options.mode, ids, replacements, tokens, reused)
            : std::nullopt;
  last.reset();  // not reused: its pages go back to the pool before this context takes its own
  BuiltContext ctx =
      continued ? std::move(*continued) : build_context(engine, &library, ids, options.mode, tokens);
  for (const auto& u : store.unreadable_logs()) out.skipped.push_back({u.id, u.reason});
  ctx.skipped.insert(ctx.skipped.begin(), dropped.begin(), dropped.end());
  out.skipped.insert(out.skipped.end(), ctx.skipped.begin(), ctx.skipped.end());
  out.skipped_by_context = ctx.skipped;
  out.placed = ctx.logs;
  out.prompt_tokens = std::uint32_t(tokens.size());
  out.logs_ms = ctx.logs_ms;
  out.prompt_prefill_ms = ctx.suffix_ms;
  out.augmentation = augment_context(ctx, options.augmentation);
  if (hooks.on_context) hooks.on_context(out);

  const std::uint32_t answer_start = ctx.sequence->length();
  const std::int32_t answer_position = ctx.next_position;
  out.generation = hooks.decode ? hooks.decode(*ctx.sequence, ctx.logits, ctx.next_position, options.generate,
                                               hooks.on_token, tokens)
                                : generate_from(engine, *ctx.sequence, ctx.logits, ctx.next_position,
                                                options.generate, hooks.on_token, tokens);
  const GenerateResult& r = out.generation;
  out.generation.timings.prompt_tokens = out.prompt_tokens;
  out.generation.timings.prefill_ms = ctx.suffix_ms;
  // Prompt tokens not evaluated by this request: those of the kept context, and logs re-read as text there.
  out.generation.timings.cached_tokens = reused;
  if (continued && options.mode == LogMode::text)
    for (const auto& l : ctx.logs) out.generation.timings.cached_tokens += l.tokens;
  out.time_to_first_token_ms =
      ctx.logs_ms + ctx.suffix_ms + out.augmentation.ms + r.timings.time_to_first_token_ms;

  const GenerateResult answer = kept_answer(engine.tokenizer(), r, options.generate.stop_strings);
  if (options.save && !answer.tokens.empty() && (!hooks.should_save || hooks.should_save(r))) {
    Trace trace = prompt.task;
    trace.messages.push_back({"assistant", answer.text});
    // The answer's live keys and values attended to the latents: an augmented task is encoded afresh.
    if (augmenting) ctx.sequence.reset();  // its pages go back to the pool, which the trace's sequence needs
    EncodedLog log = augmenting ? encode_trace(engine, trace, options.selection)
                                : finished_task_log(engine, ctx, trace, options.selection, answer,
                                                    answer_start, answer_position);
    ctx.sequence.reset();  // the generator's embedding needs a sequence, and the pool may hold only one
    index_log(store, log, vectors);
    out.saved = hooks.save ? hooks.save(log) : store_log(store, log);
  }
  if (ctx.sequence && reuse) {
    auto kept = std::make_shared<KeptLagContext>();
    kept->mode = options.mode;
    kept->requested = ids;
    kept->replacements = replacements;
    kept->prompt_entry = answer_start - std::uint32_t(tokens.size());
    kept->prompt_position = answer_position - std::int32_t(tokens.size());
    kept->held = tokens;
    kept->held.insert(kept->held.end(), r.tokens.begin(), r.tokens.end());
    kept->held.resize(ctx.sequence->length() - kept->prompt_entry);
    ctx.logits.clear();
    kept->context = std::move(ctx);
    engine.keep_lag_context(std::move(kept));
  }
  return out;
}

}  // namespace lagvk::lag
