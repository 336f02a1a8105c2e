#pragma once
// The store's portable export format, JSON Lines: a header line
//   {"lagvk_log_export": 1, "fingerprint": {...}, "embedder": {...} (when the store has dense vectors)}
// then one line per log, each ending in a newline (a last line without one is a truncated archive)
//   {"id": old id, "record": {...}, "embedding": [...], "layers": [{"k": base64, "v": base64}, ...]}
// with each layer's K and V as fp16 arrays of tokens x kv_heads x head_dim (keys without RoPE). Importing
// needs a store with the same fingerprint; logs get new ids.
//
// An archive is untrusted input. Importing is two passes: check_export reads every line and validates it
// completely (header and fingerprint, each record's JSON types, token and position counts, one K and one V
// per layer of exactly tokens x kv_heads x head_dim fp16 values, valid base64, finite embedding numbers)
// before anything is written, so a bad archive leaves the store (or the directory) untouched. The
// parsing functions need no store and no GPU (the fuzz target calls check_export on its bytes).
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "logstore/store.hpp"

namespace lagvk::logstore {

/// Writes every log; returns how many.
std::uint64_t export_logs(Store& store, std::ostream& out);

/// Writes every log to `path` without ever harming the store or an older file at `path`: a path that
/// resolves into the store's directory (through symlinks, '..' or a hard link to one of its files) is
/// refused; a regular file is written to a temporary file beside it, synced and renamed into place, so a
/// failed export leaves the old file as it was; a non-regular output (/dev/stdout, a pipe) is written
/// directly. Returns how many logs were written.
std::uint64_t export_logs_to_path(Store& store, const std::string& path);

/// The header line, parsed and validated (Fingerprint::validate). Errors name `source` and line 1.
[[nodiscard]] Fingerprint parse_export_header(std::string_view line, const std::string& source);

/// One log line of an export, decoded and checked against the archive's fingerprint.
struct ExportEntry {
  LogId id = 0;  ///< the log's id in the store it was exported from
  LogRecord record;
  std::vector<std::vector<std::uint16_t>> k, v;  ///< [layer]: tokens x kv_heads x head_dim fp16
  std::vector<float> embedding;
};
/// Errors name `source`, the line number and what is wrong.
[[nodiscard]] ExportEntry parse_export_entry(std::string_view line, const Fingerprint& fingerprint,
                                             const std::string& source, std::uint64_t line_number);

/// Who made the archive's vectors: the header's "embedder" (written since stores record theirs), else the
/// model's own (an older archive).
[[nodiscard]] EmbedderFingerprint parse_export_embedder(std::string_view line, const std::string& source);

struct ExportSummary {
  Fingerprint fingerprint;
  EmbedderFingerprint embedder;  ///< who made the vectors
  std::uint64_t logs = 0, vectors = 0;
};
/// The first pass: reads and validates the whole archive (header, every entry, a newline after every line)
/// without writing anything, and rewinds `in` to where it started. `in` must be seekable.
[[nodiscard]] ExportSummary check_export(std::istream& in, const std::string& source);

struct ImportedLog {
  LogId old_id = 0, new_id = 0;
};
/// The second pass over an archive check_export accepted (whose fingerprint must be the store's): adds
/// each log in its own transaction. If a write fails midway (disk full, store full), throws lagvk::Error
/// listing exactly the logs that landed (old id -> new id).
std::vector<ImportedLog> import_checked_export(Store& store, std::istream& in, const std::string& source,
                                               const ExportSummary& summary);

/// check_export, the fingerprint check against `store`, then import_checked_export; a stream that cannot
/// seek is read into memory first. Returns how many logs were added.
std::uint64_t import_logs(Store& store, std::istream& in, const std::string& source);

}  // namespace lagvk::logstore
