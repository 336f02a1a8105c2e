#include "engine/lag/store_library.hpp"

#include "engine/core/error.hpp"

namespace lagvk::lag {

StoreLibrary::StoreLibrary(logstore::Store& store, std::vector<std::string> tags, Embedder embedder)
    : store_(store), tags_(std::move(tags)), embedder_(std::move(embedder)) {}

std::vector<RetrievedLog> StoreLibrary::retrieve(const std::string& query, std::uint32_t k,
                                                 const std::set<LogId>& exclude) {
  std::vector<RetrievedLog> out;
  auto reader = store_.read();
  const auto hits = embedder_ ? store_.search_dense(embedder_(query), k, exclude, tags_)
                              : store_.search(query, k, exclude, tags_);
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
  if (!rec) fail("log {} is not in the store '{}'", id, store_.dir());
  return rec->token_ids;
}

LogKvSource StoreLibrary::kv(LogId id) {
  reader_.reset();
  reader_.emplace(store_);
  const auto rec = reader_->log(id);
  if (!rec) fail("log {} is not in the store '{}'", id, store_.dir());
  logstore::Store::Reader* reader = &*reader_;
  return {std::uint32_t(rec->token_ids.size()),
          [this, reader, id](std::uint32_t layer, std::uint32_t page, bool values) {
            const logstore::PageView p = reader->page(id, layer, page);
            if (p.codec == logstore::PageCodec::f16) return values ? p.v : p.k;  // zero-copy
            // q8_0 pages are decoded to fp16 here; splice_log_kv reads each span before the next call.
            logstore::decode_page(p, decoded_k_, decoded_v_);
            return std::span<const std::uint16_t>(values ? decoded_v_ : decoded_k_);
          }};
}

}  // namespace lagvk::lag
