#pragma once
// A user's document collection for the ReAct agent's built-in `search` tool (the LAG paper's QA agents
// search Wikipedia passages): JSON Lines, one passage a line, {"id": ..., "title": "...", "text": "..."}
// (id a string or a number; title optional). Ranked by Okapi BM25 (logstore/bm25.hpp) over title and text.
#include <cstdint>
#include <string>
#include <vector>

#include "logstore/bm25.hpp"

namespace lagvk::lag {

struct Passage {
  std::string id, title, text;
};

struct PassageHit {
  std::size_t index = 0;  ///< into DocCollection::passages()
  double score = 0;
};

class DocCollection {
 public:
  /// Reads PASSAGES.jsonl. Errors (Errc::bad_input; a missing file Errc::file_not_found) name the file and
  /// the line.
  [[nodiscard]] static DocCollection load(const std::string& path);
  explicit DocCollection(std::vector<Passage> passages);

  [[nodiscard]] const std::vector<Passage>& passages() const { return passages_; }
  /// The k best passages for query with a positive score, best first (ties: file order).
  [[nodiscard]] std::vector<PassageHit> search(const std::string& query, std::size_t k) const;
  /// The observation the search tool returns: the k best passages as "[title] text" lines, or a line
  /// saying nothing matched.
  [[nodiscard]] std::string search_text(const std::string& query, std::size_t k) const;

 private:
  std::vector<Passage> passages_;
  logstore::Bm25 index_;
};

}  // namespace lagvk::lag
