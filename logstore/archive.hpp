#pragma once
// The store's portable export format, JSON Lines: a header line
//   {"lagvk_log_export": 1, "fingerprint": {...}}
// then one line per log
//   {"id": old id, "record": {...}, "embedding": [...], "layers": [{"k": base64, "v": base64}, ...]}
// with each layer's K and V as fp16 arrays of tokens x kv_heads x head_dim (keys without RoPE). Importing
// needs a store with the same fingerprint; logs get new ids.
#include <cstdint>
#include <iosfwd>

#include "logstore/store.hpp"

namespace lagvk::logstore {

/// Writes every log; returns how many.
std::uint64_t export_logs(Store& store, std::ostream& out);
/// Reads an export into `store` (each log in its own transaction); returns how many logs were added.
std::uint64_t import_logs(Store& store, std::istream& in, const std::string& source);

}  // namespace lagvk::logstore
