#pragma once
// Cache augmentation of logs already in a store (arXiv 2412.17747, offline): a log is re-encoded from
// its record's trace and selection with a coprocessor (encode_trace, as 'log add --coprocessor' encodes a
// new one), and the result replaces it in one transaction. The log keeps its id, task, retrieval text,
// tags, creation time and dense vector (of its retrieval text, unchanged); its pages and record become
// those of an augmented log: its tokens, then its latents.
#include <cstdint>
#include <functional>
#include <string>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/lag/log_writer.hpp"
#include "logstore/store.hpp"

namespace lagvk::lag {

struct StoredLogAugmentation {
  enum class Outcome {
    augmented,          ///< replaced by its augmented encoding
    already_augmented,  ///< had latents and was left as it is (replace_latents off)
    skipped,            ///< could not be re-encoded (reason says why); left as it is
  };
  Outcome outcome = Outcome::skipped;
  std::uint32_t latents = 0;  ///< the log's latents now
  std::uint32_t tokens = 0;   ///< the log's tokens now
  std::string reason;         ///< for skipped: why, naming the log
  /// For skipped: what kind of problem (not_found: removed meanwhile; store: a damaged record, or the log
  /// changed meanwhile (another writer replaced it after it was read); bad_input: no usable trace;
  /// context_full: too long for the context).
  Errc code = Errc::internal;
};

/// Runs one call on the store (reading the log, replacing it); the CLI wraps them in its fault guard.
using StoreCallWrapper = std::function<void(const std::function<void()>& call)>;

/// Augments log `id` of `store` with `augmentation` (its coprocessor must be set). A log that already has
/// latents is left as it is unless `replace_latents`. A log whose record is damaged, whose trace is
/// missing or does not render, or whose trace does not fit the engine's context is skipped (nothing is
/// changed), and so is a log another writer replaced between this read and this write (the decision was
/// made from the record read; the write checks it is still that one). Errors of the store itself (no free
/// reader slot, a failed or full write) and of the device are thrown: they are not the log's.
/// `around_store` (may be empty) runs each call on the store: the read, then the write.
[[nodiscard]] StoredLogAugmentation augment_stored_log(Engine& engine, logstore::Store& store,
                                                       logstore::LogId id,
                                                       const LogAugmentation& augmentation,
                                                       bool replace_latents = false,
                                                       const StoreCallWrapper& around_store = {});

/// The trace a log was encoded from, as its record keeps it (task, messages, tags); Errc::bad_input when
/// the record has no trace or a malformed one.
[[nodiscard]] Trace trace_of_record(const logstore::LogRecord& record);

}  // namespace lagvk::lag
