#include "logstore/archive.hpp"

#include <cstring>
#include <istream>
#include <ostream>

#include "engine/core/error.hpp"
#include "logstore/base64.hpp"

namespace lagvk::logstore {

std::uint64_t export_logs(Store& store, std::ostream& out) {
  out << nlohmann::json{{"lagvk_log_export", 1}, {"fingerprint", store.fingerprint()}}.dump() << "\n";
  auto r = store.read();
  std::uint64_t n = 0;
  for (LogId id : r.ids()) {
    const auto rec = r.log(id);
    nlohmann::json layers = nlohmann::json::array();
    const std::uint32_t pages = r.pages_of(std::uint32_t(rec->token_ids.size()));
    for (std::uint32_t l = 0; l < store.fingerprint().layers; ++l) {
      std::vector<std::uint16_t> k, v;
      for (std::uint32_t p = 0; p < pages; ++p) {
        std::vector<std::uint16_t> pk, pv;
        decode_page(r.page(id, l, p), pk, pv);  // exports are fp16 whatever the store's codec
        k.insert(k.end(), pk.begin(), pk.end());
        v.insert(v.end(), pv.begin(), pv.end());
      }
      layers.push_back({{"k", base64_encode(std::as_bytes(std::span<const std::uint16_t>(k)))},
                        {"v", base64_encode(std::as_bytes(std::span<const std::uint16_t>(v)))}});
    }
    out << nlohmann::json{{"id", id}, {"record", *rec}, {"embedding", r.embedding(id)}, {"layers", layers}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    ++n;
  }
  if (!out) fail("writing the export failed (disk full?)");
  return n;
}

std::uint64_t import_logs(Store& store, std::istream& in, const std::string& source) {
  std::string line;
  if (!std::getline(in, line)) fail("{}: empty file, not a lagvk log export", source);
  const auto header = nlohmann::json::parse(line, nullptr, false);
  if (header.is_discarded() || !header.contains("lagvk_log_export"))
    fail("{}: not a lagvk log export (no header line)", source);
  const Fingerprint theirs = header.at("fingerprint").get<Fingerprint>();
  if (!(theirs == store.fingerprint()))
    fail("{} was exported from a store of another model:\n  export: {}\n  store:  {}", source,
         theirs.describe(), store.fingerprint().describe());
  std::uint64_t n = 0;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("record") || !j.contains("layers"))
      fail("{} line {}: not a log entry", source, number);
    const LogRecord rec = j["record"].get<LogRecord>();
    std::vector<std::vector<std::uint16_t>> k, v;
    for (const auto& layer : j["layers"]) {
      for (const auto& [dst, key] : {std::pair{&k, "k"}, std::pair{&v, "v"}}) {
        const auto bytes = base64_decode(layer.at(key).get<std::string>());
        if (bytes.size() % 2) fail("{} line {}: odd byte count in a page", source, number);
        dst->emplace_back(bytes.size() / 2);
        std::memcpy(dst->back().data(), bytes.data(), bytes.size());
      }
    }
    LogKvInput in_kv{std::uint32_t(rec.token_ids.size()), {}, {}};
    for (std::size_t l = 0; l < k.size(); ++l) {
      in_kv.k.emplace_back(k[l]);
      in_kv.v.emplace_back(v[l]);
    }
    const std::vector<float> embedding = j.value("embedding", std::vector<float>{});
    store.put_log(rec, in_kv, embedding);
    ++n;
  }
  return n;
}

}  // namespace lagvk::logstore
