#pragma once
// A log's record (task, trace, selected tokens, tags) and its bytes in the store's "logs" table:
//   16-byte header {magic "LGRC", JSON byte count (4), xxh64 of the JSON (8)} then the record as JSON,
// the same shape of header as a page's. Records written before the header existed are bare JSON (their
// first byte is '{', never 'L'); they still read, as "legacy" records whose text no checksum protects
// (log verify says how many a store holds). A reader never trusts a record's shape: every field is checked
// for its JSON type and range, and a damaged record is an error that names what is wrong.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lagvk::logstore {

struct LogRecord {
  std::string task;
  std::string retrieval_text;
  std::string selection;                ///< "last", "all", "answer", "full"
  nlohmann::json trace;                 ///< the finished task's messages
  std::vector<std::int32_t> token_ids;  ///< the selected tokens
  std::vector<std::int32_t> positions;  ///< their positions in the original trace, then the latents'
  std::vector<std::string> tags;
  std::int64_t created = 0;  ///< unix seconds
  /// Cache-augmentation latents kept after the tokens (engine/augment): KV entries that no token id
  /// names. Text modes use the tokens alone; KV modes splice tokens and latents.
  std::uint32_t latents = 0;

  /// The KV entries the log's pages hold: its tokens, then its latents.
  [[nodiscard]] std::size_t kv_tokens() const { return token_ids.size() + latents; }
};

/// The most latents a record may claim (far above any coprocessor's; bounds what a damaged record says).
inline constexpr std::uint32_t kMaxRecordLatents = 1u << 16;

void to_json(nlohmann::json& j, const LogRecord& r);
/// Strict: a field of the wrong JSON type (a string for token_ids, a float or an out-of-range number for a
/// token id, a message that is not an object...) throws lagvk::Error naming the field. Missing fields keep
/// their defaults (retrieval_text defaults to the task).
void from_json(const nlohmann::json& j, LogRecord& r);

/// Throws lagvk::Error when a record cannot describe stored KV: no tokens, negative token ids, more than
/// kMaxRecordLatents latents, or not one position per KV entry (token or latent).
void validate_record(const LogRecord& record);

/// The bytes the store keeps for a record: header, then JSON (validates the record first).
[[nodiscard]] std::string encode_record_value(const LogRecord& record);

struct DecodedRecord {
  LogRecord record;
  bool legacy = false;  ///< bare JSON without header and checksum (written by an older lagvk)
};

/// Checks the header and checksum (when there is one), parses and validates the record. Throws
/// lagvk::Error saying what is damaged; the caller adds which log it is.
[[nodiscard]] DecodedRecord decode_record_value(std::string_view bytes);

}  // namespace lagvk::logstore
