#pragma once
// How many logs a LAG context takes, one set of defaults for every entry point (lagvk ask, eval, the
// server, the C API), and the context budget: logs that do not fit beside the task are dropped, lowest
// score first, so that logs never make a request fail with "context full".
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/lag/context_builder.hpp"
#include "engine/lag/log_library.hpp"

namespace lagvk::lag {

/// The retrieval defaults, chosen by measurement on the multihop suite (bench/RESULTS.md, "Retrieval
/// defaults"): the question, then each step's query, adds its `logs_per_query` best logs not yet taken,
/// up to `max_logs` in a task's context (0: no cap; the context budget still applies).
struct RetrievalDefaults {
  static constexpr std::uint32_t logs_per_query = 1;
  static constexpr std::uint32_t max_logs = 1;
};

/// One retrieved log as the budget sees it.
struct LogSize {
  double score = 0;          ///< retrieval score: the lowest goes first
  std::uint64_t tokens = 0;  ///< its stored tokens
};

/// The indices of `logs` (ascending) that fit in a context of `context_tokens` beside `task_tokens` (the
/// prompt and what the model may still write), dropping the lowest-scored first (the later one on a
/// tie). In kv mode each log starts on a fresh page of `page_tokens`.
[[nodiscard]] std::vector<std::size_t> logs_that_fit(std::span<const LogSize> logs, LogMode mode,
                                                     std::uint32_t page_tokens, std::uint64_t context_tokens,
                                                     std::uint64_t task_tokens);

/// The logs to place beside a prompt of `prompt_tokens` and an answer of up to `answer_tokens`: `logs`
/// less those the budget drops (in `dropped`, each with the reason). The answer's room counts up to a
/// quarter of the context (an answer may be long; the logs are there to shorten the work). A log whose
/// record cannot be read is kept here (build_context skips it, with the store's reason).
[[nodiscard]] std::vector<LogId> fit_logs(Engine& engine, LogLibrary& library,
                                          std::span<const RetrievedLog> logs, LogMode mode,
                                          std::uint64_t prompt_tokens, std::uint64_t answer_tokens,
                                          std::vector<SkippedLog>& dropped);

}  // namespace lagvk::lag
