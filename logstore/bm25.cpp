#include "logstore/bm25.hpp"

#include <cctype>
#include <cmath>
#include <set>

namespace lagvk::logstore {

std::vector<std::string> bm25_terms(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      cur += char(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

Bm25::Bm25(const std::vector<std::string>& documents) {
  double total = 0;
  for (const auto& d : documents) {
    std::unordered_map<std::string, int> tf;
    const auto terms = bm25_terms(d);
    for (const auto& t : terms) ++tf[t];
    for (const auto& [t, n] : tf) ++df_[t];
    tf_.push_back(std::move(tf));
    length_.push_back(double(terms.size()));
    total += double(terms.size());
  }
  average_length_ = documents.empty() ? 0 : total / double(documents.size());
}

std::vector<double> Bm25::scores(std::string_view query) const {
  constexpr double k1 = 1.2, b = 0.75;
  const double n_docs = double(tf_.size());
  std::vector<double> out(tf_.size(), 0.0);
  const auto terms = bm25_terms(query);
  const std::set<std::string> unique(terms.begin(), terms.end());
  for (const auto& t : unique) {
    const auto df = df_.find(t);
    if (df == df_.end()) continue;
    const double idf = std::log(1.0 + (n_docs - df->second + 0.5) / (df->second + 0.5));
    for (std::size_t d = 0; d < tf_.size(); ++d) {
      const auto f = tf_[d].find(t);
      if (f == tf_[d].end()) continue;
      const double tf = f->second;
      out[d] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length_[d] / std::max(average_length_, 1e-9)));
    }
  }
  return out;
}

}  // namespace lagvk::logstore
