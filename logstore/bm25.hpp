#pragma once
// Okapi BM25 over short documents (logs' retrieval text). Terms: lowercase ASCII letters and digits,
// split on everything else; k1 = 1.2, b = 0.75; idf = ln(1 + (N - n + 0.5) / (n + 0.5)).
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lagvk::logstore {

[[nodiscard]] std::vector<std::string> bm25_terms(std::string_view text);

class Bm25 {
 public:
  explicit Bm25(const std::vector<std::string>& documents);
  /// One score per document, in document order.
  [[nodiscard]] std::vector<double> scores(std::string_view query) const;

 private:
  std::vector<std::unordered_map<std::string, int>> tf_;
  std::vector<double> length_;
  std::unordered_map<std::string, int> df_;
  double average_length_ = 0;
};

}  // namespace lagvk::logstore
