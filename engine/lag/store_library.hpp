#pragma once
// The LMDB log store as the LAG scheduler's LogLibrary: BM25 retrieval, selected tokens for the text
// baseline, and KV pages for splicing, copied out of the store's memory map when kv() is called (no read
// of the store stays open between calls, so the store can grow its map, or follow another process that
// grew it, at any time: LMDB's rule).
#include <functional>
#include <memory>
#include <optional>

#include "engine/lag/embedder.hpp"
#include "engine/lag/log_library.hpp"
#include "logstore/store.hpp"

namespace lagvk::lag {

class StoreLibrary : public LogLibrary {
 public:
  /// BM25 retrieval by default; with an embedder, cosine similarity between the query's vector and the
  /// logs' stored vectors (logs added without one are not found; a store whose vectors another embedder
  /// made is refused: Errc::store_model_mismatch).
  explicit StoreLibrary(logstore::Store& store, std::vector<std::string> tags = {},
                        std::optional<TextEmbedder> embedder = {});

  [[nodiscard]] std::vector<RetrievedLog> retrieve(const std::string& query, std::uint32_t k,
                                                   const std::set<LogId>& exclude) override;
  [[nodiscard]] std::vector<std::int32_t> tokens(LogId id) override;
  [[nodiscard]] LogKvSource kv(LogId id) override;

 private:
  logstore::Store& store_;
  std::vector<std::string> tags_;
  std::optional<TextEmbedder> embedder_;
  /// The last kv() log's keys and values as fp16, per layer, and where each page starts in them.
  std::vector<std::vector<std::uint16_t>> k_, v_;
  std::vector<std::size_t> page_offsets_;
};

}  // namespace lagvk::lag
