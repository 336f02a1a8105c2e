#include "engine/lag/doc_search.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"

namespace lagvk::lag {

namespace {

std::vector<std::string> index_texts(const std::vector<Passage>& passages) {
  std::vector<std::string> out;
  out.reserve(passages.size());
  for (const auto& p : passages) out.push_back(p.title + " " + p.text);
  return out;
}

}  // namespace

DocCollection::DocCollection(std::vector<Passage> passages)
    : passages_(std::move(passages)), index_(index_texts(passages_)) {}

DocCollection DocCollection::load(const std::string& path) {
  if (!std::filesystem::exists(path))
    fail(Errc::file_not_found, "--docs '{}': no such file (JSON Lines of {{\"id\", \"title\", \"text\"}})",
         path);
  require_regular_file(path);
  std::ifstream in(path);
  if (!in) fail(Errc::io, "cannot read '{}'", path);
  std::vector<Passage> passages;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(Errc::bad_input, "'{}' line {}: not a JSON object (want {{\"id\", \"title\", \"text\"}})", path,
           n);
    if (!j.contains("text") || !j["text"].is_string())
      fail(Errc::bad_input, "'{}' line {}: needs a string field 'text'", path, n);
    Passage p;
    p.text = j["text"].get<std::string>();
    if (j.contains("title") && j["title"].is_string()) p.title = j["title"].get<std::string>();
    if (j.contains("id")) p.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
    if (p.id.empty()) p.id = std::to_string(n);
    passages.push_back(std::move(p));
  }
  if (passages.empty()) fail(Errc::bad_input, "'{}' holds no passages", path);
  return DocCollection(std::move(passages));
}

std::vector<PassageHit> DocCollection::search(const std::string& query, std::size_t k) const {
  const auto scores = index_.scores(query);
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::vector<PassageHit> hits;
  for (std::size_t i : order) {
    if (hits.size() >= k || scores[i] <= 0) break;
    hits.push_back({i, scores[i]});
  }
  return hits;
}

std::string DocCollection::search_text(const std::string& query, std::size_t k) const {
  const auto hits = search(query, k);
  if (hits.empty()) return "no passage matches \"" + query + "\"; try other words";
  std::string out;
  for (const auto& h : hits) {
    const auto& p = passages_[h.index];
    out += (out.empty() ? "" : "\n") + (p.title.empty() ? "" : "[" + p.title + "] ") + p.text;
  }
  return out;
}

}  // namespace lagvk::lag
