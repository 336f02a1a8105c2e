#pragma once
// The fingerprint of the model an Engine runs, as the log store records it: a store's pages are only
// valid for the exact weights, tokenizer, KV layout and rotary embedding they were made with.
#include "engine/api/engine.hpp"
#include "logstore/fingerprint.hpp"

namespace lagvk::lag {

/// Hashes every tensor's bytes and the vocabulary (xxh64; about 10 GB/s, so ~50 ms for a 0.5 GB model).
[[nodiscard]] logstore::Fingerprint model_fingerprint(Engine& engine);

}  // namespace lagvk::lag
