#include "engine/lag/store_library.hpp"

#include "engine/core/error.hpp"

namespace lagvk::lag {

StoreLibrary::StoreLibrary(logstore::Store& store, std::vector<std::string> tags,
                           std::optional<TextEmbedder> embedder)
    : store_(store), tags_(std::move(tags)), embedder_(std::move(embedder)) {}

std::vector<RetrievedLog> StoreLibrary::retrieve(const std::string& query, std::uint32_t k,
                                                 const std::set<LogId>& exclude) {
  // The search runs before the reader opens: it may rebuild the index (its own read), and a read open
  // in this process would keep the store from adopting a map another process grew.
  const auto hits =
      embedder_ ? store_.search_dense(embedder_->embed(query), k, exclude, tags_, embedder_->fingerprint())
                : store_.search(query, k, exclude, tags_);
  std::vector<RetrievedLog> out;
  auto reader = store_.read();
  for (const auto& s : hits) {
    std::string task;
    try {
      if (const auto rec = reader.log(s.id)) task = rec->task;
    } catch (const Error&) {
      // Damaged since it was indexed: build_context skips it with the reason.
    }
    out.push_back({s.id, s.score, task});
  }
  return out;
}

std::vector<std::int32_t> StoreLibrary::tokens(LogId id) {
  const auto rec = store_.read().log(id);
  if (!rec) fail(Errc::not_found, "log {} is not in the store '{}'", id, store_.dir());
  return rec->token_ids;
}

LogKvSource StoreLibrary::kv(LogId id) {
  // The log's pages are copied out of the memory map in one read (one consistent snapshot), and the read
  // ends here: LMDB may only move the map (when this or another process grows the store) while this
  // process has no read open, and the scheduler may save a new log before it calls kv() again.
  std::uint32_t tokens = 0;
  {
    auto reader = store_.read();
    const auto rec = reader.log(id);
    if (!rec) fail(Errc::not_found, "log {} is not in the store '{}'", id, store_.dir());
    tokens = std::uint32_t(rec->kv_tokens());
    const std::uint32_t layers = store_.fingerprint().layers, n_pages = reader.pages_of(tokens);
    k_.assign(layers, {});
    v_.assign(layers, {});
    page_offsets_.assign(n_pages + 1, 0);
    std::vector<std::uint16_t> k, v;
    for (std::uint32_t l = 0; l < layers; ++l)
      for (std::uint32_t p = 0; p < n_pages; ++p) {
        logstore::decode_page(reader.page(id, l, p), k, v);
        k_[l].insert(k_[l].end(), k.begin(), k.end());
        v_[l].insert(v_[l].end(), v.begin(), v.end());
        page_offsets_[p + 1] = k_[l].size();
      }
  }
  return {tokens, [this](std::uint32_t layer, std::uint32_t page, bool values) {
            const auto& data = values ? v_.at(layer) : k_.at(layer);
            const std::size_t begin = page_offsets_.at(page), end = page_offsets_.at(page + 1);
            return std::span<const std::uint16_t>(data.data() + begin, end - begin);
          }};
}

}  // namespace lagvk::lag
