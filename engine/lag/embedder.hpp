#pragma once
// Who makes a store's dense retrieval vectors, for the logs' retrieval text and for the queries: the
// generator itself (its mean final hidden state: how stores were embedded before embedding models) or a
// separate embedding model (--embed-model: arch bert such as all-MiniLM-L6-v2, or a decoder embedding
// model such as Qwen3-Embedding), whose vectors are scaled to unit length. A store records which one
// made its vectors (logstore::EmbedderFingerprint) and refuses the other: their vectors cannot be
// compared.
#include <optional>
#include <string>
#include <vector>

#include "engine/api/engine.hpp"
#include "engine/lag/log_writer.hpp"
#include "logstore/fingerprint.hpp"
#include "logstore/store.hpp"

namespace lagvk::lag {

class TextEmbedder {
 public:
  /// The generator's own vectors (lag::embed_text of `generator`, as they always were: not normalised).
  [[nodiscard]] static TextEmbedder generator(Engine& generator);
  /// A separate embedding model: lag::embed_text scaled to unit length. Hashes the model's file once.
  [[nodiscard]] static TextEmbedder model(Engine& embedding_model);

  [[nodiscard]] std::vector<float> embed(const std::string& text) const;
  [[nodiscard]] const logstore::EmbedderFingerprint& fingerprint() const { return fingerprint_; }
  [[nodiscard]] Engine& engine() const { return *engine_; }

 private:
  TextEmbedder(Engine& engine, logstore::EmbedderFingerprint fingerprint)
      : engine_(&engine), fingerprint_(std::move(fingerprint)) {}
  Engine* engine_;
  logstore::EmbedderFingerprint fingerprint_;
};

/// The embedder whose vector a new log of `store` gets: `chosen` (an embedding model) or else the
/// generator's, when one was chosen, `requested` (log add --embed) or the store already has dense
/// retrieval (so that every log stays findable by it); nullopt when new logs get no vector. Throws
/// Errc::store_model_mismatch, naming both, when it is not the embedder that made the store's vectors:
/// call it before the work whose result would be lost.
[[nodiscard]] std::optional<TextEmbedder> embedder_for_new_logs(logstore::Store& store, Engine& generator,
                                                                const std::optional<TextEmbedder>& chosen,
                                                                bool requested);

/// Sets the log's vector: `embedder`'s of the log's retrieval text (what BM25 indexes too).
void embed_log(EncodedLog& log, const TextEmbedder& embedder);

/// Sets what `store`'s retrieval indexes of a log it is about to keep: the retrieval text the store
/// chose (its IndexText: the task, or the task and the last response) and, with an embedder, the vector
/// of that text. Call it before store_log.
void index_log(const logstore::Store& store, EncodedLog& log, const std::optional<TextEmbedder>& embedder);

}  // namespace lagvk::lag
