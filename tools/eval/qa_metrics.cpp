#include "tools/eval/qa_metrics.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

namespace lagvk::lag {

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

double f1_one(const std::string& prediction, const std::string& gold) {
  const auto p = words(normalise_answer(prediction)), g = words(normalise_answer(gold));
  if (p.empty() || g.empty()) return p == g ? 1.0 : 0.0;
  std::map<std::string, int> counts;
  for (const auto& w : g) ++counts[w];
  int common = 0;
  for (const auto& w : p)
    if (counts[w]-- > 0) ++common;
  if (common == 0) return 0.0;
  const double precision = double(common) / double(p.size()), recall = double(common) / double(g.size());
  return 2 * precision * recall / (precision + recall);
}

}  // namespace

std::string normalise_answer(const std::string& text) {
  std::string lowered;
  for (char c : text)
    if (!std::ispunct(static_cast<unsigned char>(c)))
      lowered += char(std::tolower(static_cast<unsigned char>(c)));
  std::string out;
  for (const auto& w : words(lowered)) {
    if (w == "a" || w == "an" || w == "the") continue;
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

bool qa_exact_match(const std::string& prediction, const std::vector<std::string>& golds) {
  const std::string p = normalise_answer(prediction);
  return std::any_of(golds.begin(), golds.end(),
                     [&](const std::string& g) { return normalise_answer(g) == p; });
}

double qa_f1(const std::string& prediction, const std::vector<std::string>& golds) {
  double best = 0;
  for (const auto& g : golds) best = std::max(best, f1_one(prediction, g));
  return best;
}

}  // namespace lagvk::lag
