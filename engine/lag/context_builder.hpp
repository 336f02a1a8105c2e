#pragma once
// Assembles the context of a LAG request: retrieved logs first, contiguous from position 0 in retrieval
// order, then the new task's tokens. Three modes, for comparisons:
//   kv   — LAG: each log's stored KV pages are spliced (keys re-rotated to their new positions); logs do
//          not attend to each other and are never re-read;
//   text — baseline: the logs' selected tokens are prefilled as text at the same positions;
//   none — no logs.
#include <cstdint>
#include <span>
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

struct BuiltContext {
  std::unique_ptr<KvSequence> sequence;
  std::vector<PlacedLog> logs;
  std::int32_t next_position = 0;  ///< where the task's own tokens continue
  std::vector<float> logits;       ///< after the last suffix token
  double logs_ms = 0;              ///< time to place the logs (splice or prefill)
  double suffix_ms = 0;            ///< time to prefill the suffix
};

/// A fresh sequence holding `logs` (in order) and then `suffix`, with the logits after the suffix.
[[nodiscard]] BuiltContext build_context(Engine& engine, LogLibrary* library, const std::vector<LogId>& logs,
                                         LogMode mode, std::span<const std::int32_t> suffix);

}  // namespace lagvk::lag
