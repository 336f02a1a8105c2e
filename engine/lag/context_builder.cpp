#include "engine/lag/context_builder.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include <fmt/format.h>

#include "engine/core/error.hpp"

namespace lagvk::lag {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::uint64_t round_up(std::uint64_t n, std::uint32_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

/// Whether a log of `tokens` fits before a suffix of `suffix` tokens. Spliced pages start on a fresh page
/// and fill whole pages; text is appended token by token.
bool log_fits(const KvSequence& seq, std::uint32_t page_tokens, LogMode mode, std::uint64_t tokens,
              std::uint64_t suffix) {
  const std::uint64_t end = mode == LogMode::kv
                                ? round_up(seq.length(), page_tokens) + round_up(tokens, page_tokens)
                                : std::uint64_t(seq.length()) + tokens;
  return end + suffix <= seq.max_tokens();
}

std::string does_not_fit(LogId id, std::uint64_t tokens, const KvSequence& seq, std::uint64_t suffix) {
  return fmt::format(
      "log {} ({} tokens) does not fit in the context of {} tokens ({} already used, {} needed by the task); "
      "skipped (a larger context would hold it)",
      id, tokens, seq.max_tokens(), seq.length(), suffix);
}

}  // namespace

LogMode parse_log_mode(std::string_view name) {
  if (name == "kv") return LogMode::kv;
  if (name == "text") return LogMode::text;
  if (name == "none") return LogMode::none;
  fail(Errc::invalid_argument, "unknown log mode '{}': use kv (LAG), text (logs re-read as text) or none",
       name);
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
  const std::uint32_t page_tokens = engine.pool().shape().page_tokens;
  const auto t0 = Clock::now();
  if (mode != LogMode::none && !logs.empty()) {
    if (!library) fail("internal: logs requested without a log library");
    const ops::RopeArgs rope = rope_args(engine.forward().weights());
    for (LogId id : logs) {
      PlacedLog placed{id, 0, out.next_position};
      if (mode == LogMode::kv) {
        KvPages pages;
        try {
          const LogKvSource source = library->kv(id);
          if (!log_fits(seq, page_tokens, mode, source.tokens, suffix.size())) {
            out.skipped.push_back({id, does_not_fit(id, source.tokens, seq, suffix.size())});
            continue;
          }
          placed.tokens = source.tokens;
          pages = splice_log_kv(engine.context(), engine.pool(), source, out.next_position, rope);
        } catch (const Error& e) {  // a damaged record or page (splice_log_kv's pages went back)
          out.skipped.push_back({id, e.what()});
          continue;
        }
        // The sequence takes its own references; ours go when `pages` does (a cache of spliced pages would
        // keep the handle).
        seq.append_shared_pages(pages.ids(), placed.tokens);
      } else {
        std::vector<std::int32_t> text;
        try {
          text = library->tokens(id);
        } catch (const Error& e) {
          out.skipped.push_back({id, e.what()});
          continue;
        }
        if (!log_fits(seq, page_tokens, mode, text.size(), suffix.size())) {
          out.skipped.push_back({id, does_not_fit(id, text.size(), seq, suffix.size())});
          continue;
        }
        // A store's token ids come from the model it is bound to, but an imported archive may carry any.
        const std::uint32_t vocab = engine.config().vocab;
        const auto bad = std::find_if(text.begin(), text.end(),
                                      [&](std::int32_t t) { return t < 0 || std::uint32_t(t) >= vocab; });
        if (bad != text.end()) {
          out.skipped.push_back(
              {id, fmt::format("log {} holds token id {}, outside the model's vocabulary of "
                               "{}; remove the log",
                               id, *bad, vocab)});
          continue;
        }
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
          Errc::context_full,
          "context full: {} tokens of logs plus {} of the task exceed the context of {}; place fewer logs or "
          "load the model with a larger context",
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
