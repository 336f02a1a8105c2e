#pragma once
// One LAG question, start to finish: the flow `lagvk ask` and the C API's lagvk_ask both run (one
// definition, so the library answers exactly as the command does). Retrieve logs for the question (or
// take the ids given), render the prompt, place the logs and the prompt in a fresh sequence
// (build_context), generate, and optionally save the finished task as a new log: for selection `last`
// the answer's KV is captured from the live cache (it attended to the logs and the question), for the
// others the trace is re-encoded.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/context_builder.hpp"
#include "engine/lag/embedder.hpp"
#include "engine/lag/log_budget.hpp"
#include "engine/lag/log_writer.hpp"
#include "engine/lag/trace.hpp"
#include "engine/lag/turn_augmentation.hpp"
#include "logstore/store.hpp"

namespace lagvk::lag {

/// The defaults of every way to ask (the CLI's flags and lagvk_ask_params_default).
struct AskOptions {
  LogMode mode = LogMode::kv;
  std::uint32_t k = RetrievalDefaults::logs_per_query;  ///< logs retrieved per question
  /// Use exactly these logs, in this order, instead of retrieving (an unknown id is Errc::not_found).
  std::optional<std::vector<LogId>> log_ids;
  /// The tags a saved task carries (retrieval filters by tag in the LogLibrary the caller passes).
  std::vector<std::string> tags;
  bool save = false;
  Selection selection = Selection::last;  ///< the tokens a saved task keeps
  GenerateOptions generate = greedy();    ///< answers are greedy: reproducible
  /// Continue the context the last ask left when this one has the same logs and continues its prompt
  /// (an agent's next step; Engine::keep_lag_context). Off: every ask places its logs afresh.
  bool reuse_context = false;
  /// With save: the embedding model whose vector the saved task gets (empty: the generator's, and only
  /// when the store has dense retrieval). Checked against the store's embedder before answering.
  std::optional<TextEmbedder> embedder;
  /// Cache augmentation of the answer: the coprocessor's latents after the prompt, before the first token
  /// (`at` plays no part in one answer). An augmented answer neither continues nor leaves a context for
  /// reuse, and a saved task is encoded from its trace without latents ('lagvk log add --coprocessor'
  /// augments logs).
  TurnAugmentation augmentation;

  [[nodiscard]] static GenerateOptions greedy() {
    GenerateOptions g;
    g.sampling.temperature = 0.0f;
    return g;
  }
};

struct AskResult {
  std::vector<RetrievedLog> retrieved;  ///< retrieved (or given) logs, best first
  std::vector<PlacedLog> placed;        ///< those placed in the context, in context order
  /// Logs left out: damaged records retrieval could not index, then retrieved logs the context could not
  /// take (in that order).
  std::vector<SkippedLog> skipped;
  std::vector<SkippedLog> skipped_by_context;  ///< the second part of `skipped` alone
  std::uint32_t prompt_tokens = 0;
  GenerateResult generation;
  double logs_ms = 0, prompt_prefill_ms = 0, time_to_first_token_ms = 0;
  AppliedAugmentation augmentation;  ///< the latents appended after the prompt, and their time
  std::optional<LogId> saved;        ///< the new log, when the task was saved
};

/// What the caller hooks into the flow. All may be empty.
struct AskHooks {
  /// Called once the logs and the prompt are in the context, before the first token (`result` has
  /// retrieved, placed, skipped and the timings of placing them).
  std::function<void(const AskResult& result)> on_context;
  TokenCallback on_token;  ///< may throw to stop (the exception leaves ask(); nothing is saved)
  /// With options.save: whether this answer's task is saved (empty: always).
  std::function<bool(const GenerateResult& answer)> should_save;
  /// Writes a finished task into the store (default: store_log); the CLI wraps it in its fault guard.
  std::function<LogId(const EncodedLog& log)> save;
  /// Decodes the answer after the built context (default: generate_from on the engine). The C API sends
  /// it through the model's batched generator when the model has parallel slots.
  std::function<GenerateResult(KvSequence& seq, std::vector<float> logits, std::int32_t next_position,
                               const GenerateOptions& options, const TokenCallback& on_token,
                               std::span<const std::int32_t> history)>
      decode;
};

/// Answers `question` with logs from `library` (which reads `store`). Throws lagvk::Error: not_found for
/// an unknown id in options.log_ids, context_full when the question alone does not fit.
[[nodiscard]] AskResult ask(Engine& engine, logstore::Store& store, LogLibrary& library,
                            const std::string& question, const AskOptions& options,
                            const AskHooks& hooks = {});

/// A prompt ready for answer_with_logs: the chat so far (saved with the answer as the finished task), the
/// logs to place in front of it and its tokens (the same with logs as without: the paper's layout
/// [logs][BOS + prompt], see render_prompt). A conversation, not only one question: lagvk_ask_chat and the
/// server's `lag` requests answer an agent's whole transcript with logs in front of it.
struct LogPrompt {
  Trace task;                      ///< task (the log's retrieval text), messages so far, tags for save
  std::vector<RetrievedLog> logs;  ///< the logs to place, in context order (empty in LogMode::none)
  std::vector<std::int32_t> tokens;
};

/// The logs of `ids` as retrieval would list them (score 0). Errc::not_found for an id not in the store;
/// a damaged record is listed (build_context skips it with the reason).
[[nodiscard]] std::vector<RetrievedLog> given_logs(logstore::Store& store, const std::vector<LogId>& ids);

/// Places prompt.logs and the prompt in a fresh sequence, generates, and with options.save stores the
/// finished task (prompt.task plus the answer). options.k, options.log_ids and options.tags are not read:
/// the caller has retrieved and put the tags in prompt.task.
[[nodiscard]] AskResult answer_with_logs(Engine& engine, logstore::Store& store, LogLibrary& library,
                                         const LogPrompt& prompt, const AskOptions& options,
                                         const AskHooks& hooks = {});

}  // namespace lagvk::lag
