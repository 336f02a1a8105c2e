#pragma once
// The fingerprint of the model an Engine runs, as the log store records it: a store's pages are only
// valid for the exact weights, tokenizer, KV layout and rotary embedding they were made with.
#include "engine/api/engine.hpp"
#include "logstore/fingerprint.hpp"

namespace lagvk::lag {

/// The hash of a GGUF file's tensors (names and bytes; xxh64, hex): the weights' identity, as stores
/// record their model and coprocessors their decoder.
[[nodiscard]] std::string weights_hash(const GgufFile& file);

/// Hashes every tensor's bytes and the vocabulary (xxh64; about 10 GB/s, so ~50 ms for a 0.5 GB model).
[[nodiscard]] logstore::Fingerprint model_fingerprint(Engine& engine);

/// The identity of the embedding model `engine` runs (the same content hashes as model_fingerprint, any
/// architecture: an encoder has no KV layout to record), as a store records the maker of its vectors.
[[nodiscard]] logstore::EmbedderFingerprint embedder_fingerprint(Engine& engine);

}  // namespace lagvk::lag
