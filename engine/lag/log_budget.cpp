#include "engine/lag/log_budget.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {

std::uint64_t footprint(const LogSize& log, LogMode mode, std::uint32_t page_tokens) {
  if (mode != LogMode::kv) return log.tokens;
  return (log.tokens + page_tokens - 1) / page_tokens * page_tokens;  // whole pages: the next starts fresh
}

}  // namespace

std::vector<std::size_t> logs_that_fit(std::span<const LogSize> logs, LogMode mode, std::uint32_t page_tokens,
                                       std::uint64_t context_tokens, std::uint64_t task_tokens) {
  std::vector<std::size_t> order(logs.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  // Best first; on a tie the earlier retrieved first.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return logs[a].score > logs[b].score; });
  std::uint64_t used = task_tokens;
  std::vector<std::size_t> kept;
  for (std::size_t i : order) {
    const std::uint64_t need = footprint(logs[i], mode, std::max<std::uint32_t>(page_tokens, 1));
    if (used + need > context_tokens) continue;  // a smaller, lower-scored log may still fit
    used += need;
    kept.push_back(i);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::vector<LogId> fit_logs(Engine& engine, LogLibrary& library, std::span<const RetrievedLog> logs,
                            LogMode mode, std::uint64_t prompt_tokens, std::uint64_t answer_tokens,
                            std::vector<SkippedLog>& dropped) {
  std::vector<LogId> out;
  if (mode == LogMode::none) return out;
  std::vector<LogSize> sizes;
  for (const auto& l : logs) {
    LogSize s{l.score, 0};
    try {
      s.tokens = library.tokens(l.id).size();
    } catch (const Error&) {  // unreadable: build_context skips it and says why
    }
    sizes.push_back(s);
  }
  const std::uint64_t context = engine.context_tokens();
  const std::uint64_t task_tokens = prompt_tokens + std::min<std::uint64_t>(answer_tokens, context / 4);
  const auto kept = logs_that_fit(sizes, mode, engine.pool().shape().page_tokens, context, task_tokens);
  std::size_t next = 0;
  for (std::size_t i = 0; i < logs.size(); ++i) {
    if (next < kept.size() && kept[next] == i) {
      out.push_back(logs[i].id);
      ++next;
      continue;
    }
    dropped.push_back(
        {logs[i].id,
         fmt::format("log {} ({} tokens, score {:.3g}) left out: with the task's {} tokens it does "
                     "not fit in the context of {} beside the better-scored logs (a larger "
                     "context would hold it)",
                     logs[i].id, sizes[i].tokens, logs[i].score, task_tokens, context)});
  }
  return out;
}

}  // namespace lagvk::lag
