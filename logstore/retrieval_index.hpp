#pragma once
// The in-memory retrieval index of a store: for every log its id, tags, BM25 term statistics and dense
// vector (unit length, contiguous, so that cosine scoring is one pass of dot products). Built from one
// read transaction; the store rebuilds it when its generation counter shows another write.
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "logstore/bm25.hpp"
#include "logstore/log_id.hpp"

namespace lagvk::logstore {

struct ScoredLog {
  LogId id = 0;
  double score = 0;
};

struct IndexedLog {
  LogId id = 0;
  std::string text;
  std::vector<std::string> tags;
  std::vector<float> embedding;  ///< may be empty
};

class RetrievalIndex {
 public:
  explicit RetrievalIndex(std::vector<IndexedLog> logs);

  [[nodiscard]] std::size_t size() const { return ids_.size(); }
  /// Logs with a dense vector (those dense() can find).
  [[nodiscard]] std::size_t vector_count() const;
  /// Top k by BM25 among logs sharing a term with the query, not excluded, carrying every tag.
  [[nodiscard]] std::vector<ScoredLog> lexical(const std::string& query, std::uint32_t k,
                                               const std::set<LogId>& exclude,
                                               const std::vector<std::string>& tags) const;
  /// Top k by cosine similarity among logs with a vector of the query's dimension.
  [[nodiscard]] std::vector<ScoredLog> dense(std::span<const float> query, std::uint32_t k,
                                             const std::set<LogId>& exclude,
                                             const std::vector<std::string>& tags) const;

 private:
  [[nodiscard]] bool eligible(std::size_t i, const std::set<LogId>& exclude,
                              const std::vector<std::string>& tags) const;

  std::vector<LogId> ids_;
  std::vector<std::vector<std::string>> tags_;
  Bm25 bm25_;
  std::uint32_t dim_ = 0;
  std::vector<float> vectors_;  ///< size() x dim_, unit length (zero rows for logs without one)
  std::vector<std::uint8_t> has_vector_;
};

}  // namespace lagvk::logstore
