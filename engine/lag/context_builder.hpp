#pragma once
// Assembles the context of a LAG request: retrieved logs first, contiguous from position 0 in retrieval
// order, then the new task's tokens. Three modes, for comparisons:
//   kv   — LAG: each log's stored KV pages are spliced (keys re-rotated to their new positions); logs do
//          not attend to each other and are never re-read;
//   text — baseline: the logs' selected tokens are prefilled as text at the same positions;
//   none — no logs.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/log_library.hpp"

namespace lagvk::lag {

enum class LogMode { kv, text, none };
[[nodiscard]] LogMode parse_log_mode(std::string_view name);
[[nodiscard]] std::string_view log_mode_name(LogMode mode);

struct PlacedLog {
  LogId id = 0;
  std::uint32_t tokens = 0;
  std::int32_t first_position = 0;
};

/// A retrieved log that build_context left out: its record or pages are damaged, or it does not fit in
/// the context with the task. `reason` names the log; callers show it as a warning.
struct SkippedLog {
  LogId id = 0;
  std::string reason;
};

struct BuiltContext {
  std::unique_ptr<KvSequence> sequence;
  std::vector<PlacedLog> logs;      ///< the logs placed, in order (requested logs minus the skipped)
  std::vector<SkippedLog> skipped;  ///< in request order
  std::int32_t next_position = 0;   ///< where the task's own tokens continue
  std::vector<float> logits;        ///< after the last suffix token
  double logs_ms = 0;               ///< time to place the logs (splice or prefill)
  double suffix_ms = 0;             ///< time to prefill the suffix
};

/// A fresh sequence holding `logs` (in order) and then `suffix`, with the logits after the suffix. A log
/// that cannot be read, or that would leave no room for the suffix, is skipped (see BuiltContext::skipped)
/// and the others are placed: one bad log must not fail every request that retrieves it.
[[nodiscard]] BuiltContext build_context(Engine& engine, LogLibrary* library, const std::vector<LogId>& logs,
                                         LogMode mode, std::span<const std::int32_t> suffix);

}  // namespace lagvk::lag
