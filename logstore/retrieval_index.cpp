#include "logstore/retrieval_index.hpp"

#include <algorithm>
#include <cmath>

namespace lagvk::logstore {

namespace {

std::vector<std::string> texts_of(const std::vector<IndexedLog>& logs) {
  std::vector<std::string> out;
  for (const auto& l : logs) out.push_back(l.text);
  return out;
}

std::vector<ScoredLog> top_k(std::vector<ScoredLog> scored, std::uint32_t k) {
  const std::size_t n = std::min<std::size_t>(k, scored.size());
  std::partial_sort(
      scored.begin(), scored.begin() + std::ptrdiff_t(n), scored.end(),
      [](const auto& a, const auto& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); });
  scored.resize(n);
  return scored;
}

}  // namespace

RetrievalIndex::RetrievalIndex(std::vector<IndexedLog> logs) : bm25_(texts_of(logs)) {
  for (const auto& l : logs)
    if (!l.embedding.empty()) dim_ = std::max(dim_, std::uint32_t(l.embedding.size()));
  vectors_.assign(logs.size() * dim_, 0.0f);
  has_vector_.assign(logs.size(), 0);
  for (std::size_t i = 0; i < logs.size(); ++i) {
    ids_.push_back(logs[i].id);
    tags_.push_back(std::move(logs[i].tags));
    const auto& e = logs[i].embedding;
    if (e.size() != dim_ || dim_ == 0) continue;
    double norm = 0;
    for (float x : e) norm += double(x) * x;
    if (norm <= 0) continue;
    const float inv = float(1.0 / std::sqrt(norm));
    for (std::uint32_t d = 0; d < dim_; ++d) vectors_[i * dim_ + d] = e[d] * inv;
    has_vector_[i] = 1;
  }
}

bool RetrievalIndex::eligible(std::size_t i, const std::set<LogId>& exclude,
                              const std::vector<std::string>& tags) const {
  if (exclude.count(ids_[i])) return false;
  for (const auto& t : tags)
    if (std::find(tags_[i].begin(), tags_[i].end(), t) == tags_[i].end()) return false;
  return true;
}

std::vector<ScoredLog> RetrievalIndex::lexical(const std::string& query, std::uint32_t k,
                                               const std::set<LogId>& exclude,
                                               const std::vector<std::string>& tags) const {
  const auto scores = bm25_.scores(query);
  std::vector<ScoredLog> scored;
  for (std::size_t i = 0; i < ids_.size(); ++i)
    if (scores[i] > 0 && eligible(i, exclude, tags))
      scored.push_back({ids_[i], scores[i]});  // no shared term: skip
  return top_k(std::move(scored), k);
}

std::size_t RetrievalIndex::vector_count() const {
  return std::size_t(std::count(has_vector_.begin(), has_vector_.end(), std::uint8_t(1)));
}

std::vector<ScoredLog> RetrievalIndex::dense(std::span<const float> query, std::uint32_t k,
                                             const std::set<LogId>& exclude,
                                             const std::vector<std::string>& tags) const {
  if (query.size() != dim_ || dim_ == 0) return {};
  double norm = 0;
  for (float x : query) norm += double(x) * x;
  if (norm <= 0) return {};
  const float inv = float(1.0 / std::sqrt(norm));
  std::vector<ScoredLog> scored;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    if (!has_vector_[i] || !eligible(i, exclude, tags)) continue;
    const float* v = &vectors_[i * dim_];
    float dot = 0;  // contiguous and branch-free: the compiler vectorises it
    for (std::uint32_t d = 0; d < dim_; ++d) dot += v[d] * query[d];
    scored.push_back({ids_[i], double(dot * inv)});
  }
  return top_k(std::move(scored), k);
}

}  // namespace lagvk::logstore
