#include "engine/lag/context_builder.hpp"

#include <chrono>
#include <numeric>

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
}  // namespace

LogMode parse_log_mode(std::string_view name) {
  if (name == "kv") return LogMode::kv;
  if (name == "text") return LogMode::text;
  if (name == "none") return LogMode::none;
  fail("unknown --logs mode '{}': use kv (LAG), text (logs re-read as text) or none", name);
}

std::string_view log_mode_name(LogMode mode) {
  switch (mode) {
    case LogMode::kv:
      return "kv";
    case LogMode::text:
      return "text";
    case LogMode::none:
      return "none";
  }
  return "?";
}

BuiltContext build_context(Engine& engine, LogLibrary* library, const std::vector<LogId>& logs, LogMode mode,
                           std::span<const std::int32_t> suffix) {
  BuiltContext out;
  out.sequence = engine.new_sequence();
  KvSequence& seq = *out.sequence;
  const auto t0 = Clock::now();
  if (mode != LogMode::none && !logs.empty()) {
    if (!library) fail("internal: logs requested without a log library");
    const ops::RopeArgs rope = rope_args(engine.forward().weights());
    for (LogId id : logs) {
      PlacedLog placed{id, 0, out.next_position};
      if (mode == LogMode::kv) {
        const LogKvSource source = library->kv(id);
        placed.tokens = source.tokens;
        const auto pages = splice_log_kv(engine.context(), engine.pool(), source, out.next_position, rope);
        try {
          seq.append_shared_pages(pages, source.tokens);
        } catch (...) {
          for (auto p : pages) engine.pool().release(p);
          throw;
        }
        // The sequence holds its own references now; a cache of spliced pages would keep ours.
        for (auto p : pages) engine.pool().release(p);
      } else {
        const std::vector<std::int32_t> text = library->tokens(id);
        placed.tokens = std::uint32_t(text.size());
        std::vector<std::int32_t> positions(text.size());
        std::iota(positions.begin(), positions.end(), out.next_position);
        if (!text.empty()) (void)engine.forward().eval(seq, text, positions);
      }
      out.next_position += std::int32_t(placed.tokens);
      out.logs.push_back(placed);
    }
  }
  out.logs_ms = ms_since(t0);
  const auto t1 = Clock::now();
  if (!suffix.empty()) {
    if (std::uint64_t(seq.length()) + suffix.size() > seq.max_tokens())
      fail(
          "context full: {} tokens of logs plus {} of the task exceed the context of {}; use fewer logs (-k) "
          "or "
          "a larger --ctx",
          seq.length(), suffix.size(), seq.max_tokens());
    std::vector<std::int32_t> positions(suffix.size());
    std::iota(positions.begin(), positions.end(), out.next_position);
    out.logits = engine.forward().eval(seq, suffix, positions);
    out.next_position += std::int32_t(suffix.size());
  }
  out.suffix_ms = ms_since(t1);
  return out;
}

}  // namespace lagvk::lag
