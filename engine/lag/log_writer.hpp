#pragma once
// Turning finished tasks into stored logs: re-encode a trace (render it, run it through the model, keep
// the selected tokens' KV, computed with the whole trace as context) or capture a live sequence that
// already holds the task (no extra forward pass). Keys are stored without RoPE.
#include "engine/api/engine.hpp"
#include "engine/augment/coprocessor.hpp"
#include "engine/kv/log_kv.hpp"
#include "engine/lag/trace.hpp"
#include "logstore/store.hpp"

namespace lagvk::lag {

struct EncodedLog {
  logstore::LogRecord record;
  HostLogKv kv;
  std::vector<float> embedding;            ///< dense retrieval vector of the task, or empty
  logstore::EmbedderFingerprint embedder;  ///< who made `embedding` (lag::embed_log sets both)
};

/// How a log is augmented before it is stored (cache augmentation, arXiv 2412.17747): after the whole
/// trace, the coprocessor's latents are appended and kept after the selected tokens.
struct LogAugmentation {
  augment::Coprocessor* coprocessor = nullptr;  ///< none: the log is not augmented
  std::uint32_t latents = 0;                    ///< 0: all the coprocessor's
};

/// Renders and evaluates `trace` from position 0 and captures the tokens `selection` keeps (and, with a
/// coprocessor, the latents it appends after the trace: record.latents of them after the tokens).
[[nodiscard]] EncodedLog encode_trace(Engine& engine, const Trace& trace, Selection selection,
                                      const LogAugmentation& augmentation = {});

/// Captures `entries` of a live sequence (cache entries holding the tokens `token_ids`, rotated at
/// `positions`) as the log of `trace`.
[[nodiscard]] EncodedLog capture_live(Engine& engine, const KvSequence& seq, const Trace& trace,
                                      Selection selection, std::span<const std::int32_t> entries,
                                      std::span<const std::int32_t> positions,
                                      std::span<const std::int32_t> token_ids);

/// Writes an encoded log into the store (one transaction); returns its id.
logstore::LogId store_log(logstore::Store& store, const EncodedLog& log);

/// Replaces log `id`'s record and pages with `log`'s (one transaction; the stored dense vector is kept, so
/// `log` must keep the log's retrieval text), with `expected` only when its record is still that one
/// (Store::replace_log).
logstore::Store::Replacement replace_stored_log(logstore::Store& store, logstore::LogId id,
                                                const EncodedLog& log,
                                                const logstore::LogRecord* expected = nullptr);

}  // namespace lagvk::lag
