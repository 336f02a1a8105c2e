// Log store benchmark: write throughput (MB/s of pages), page read throughput (GB/s through zero-copy
// views with checksum verification, next to a memcpy of the same bytes in the same run), and retrieval
// latency (BM25 and dense cosine, top 3) at 1k, 10k and 100k logs.
// usage: bench_logstore [--quick] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "logstore/store.hpp"

namespace {

using namespace lagvk::logstore;
using Clock = std::chrono::steady_clock;
double sec_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The reference model's KV shape: 16 layers, 4 KV heads of 64, pages of 16 tokens.
Fingerprint bench_fingerprint(std::uint32_t layers) {
  Fingerprint f;
  f.model_name = "bench";
  f.model_hash = "0";
  f.tokenizer_hash = "0";
  f.layers = layers;
  f.kv_heads = 4;
  f.head_dim = 64;
  f.page_tokens = 16;
  f.rope_mode = "normal";
  f.rope_base = 10000;
  return f;
}

const char* kWords[] = {"director", "film",    "born",    "city",    "capital", "river",
                        "father",   "company", "founded", "harbor",  "glass",   "orchard",
                        "silent",   "port",    "alden",   "veloria", "castell", "okabe"};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_logstore [--quick] [--json FILE]\n");
      return 2;
    }
  }
  try {
    nlohmann::json j;
    const std::string dir = "/tmp/lagvk-bench-logstore";
    std::mt19937 rng(1);
    // Write and read throughput: logs of 256 tokens x 16 layers (256 KB of pages per layer pair).
    {
      std::filesystem::remove_all(dir);
      auto store = Store::open(dir, {true, bench_fingerprint(16), 256ull << 20, 8ull << 30});
      const std::uint32_t tokens = 256, logs = quick ? 20 : 100;
      const std::size_t n = std::size_t(tokens) * 4 * 64;
      std::vector<std::vector<std::uint16_t>> k(16, std::vector<std::uint16_t>(n)), v = k;
      for (auto& l : k)
        for (auto& x : l) x = std::uint16_t(rng());
      LogKvInput in{tokens, {}, {}};
      for (int l = 0; l < 16; ++l) {
        in.k.emplace_back(k[std::size_t(l)]);
        in.v.emplace_back(v[std::size_t(l)]);
      }
      LogRecord rec;
      rec.task = rec.retrieval_text = "who directed the glass harbor";
      rec.token_ids.assign(tokens, 5);
      rec.positions.assign(tokens, 0);
      const double bytes_per_log = double(n) * 2 * 2 * 16;
      auto t0 = Clock::now();
      std::vector<LogId> ids;
      for (std::uint32_t i = 0; i < logs; ++i) ids.push_back(store->put_log(rec, in));
      const double write_s = sec_since(t0);
      double checksum = 0;
      t0 = Clock::now();
      {
        auto r = store->read();
        for (LogId id : ids)
          for (std::uint32_t l = 0; l < 16; ++l)
            for (std::uint32_t p = 0; p < 16; ++p) {
              const PageView page = r.page(id, l, p);
              checksum += page.k[0] + page.v[page.v.size() - 1];
            }
      }
      const double read_s = sec_since(t0);
      std::vector<std::byte> a(std::size_t(bytes_per_log * logs), std::byte{1}), b(a.size());
      t0 = Clock::now();
      std::memcpy(b.data(), a.data(), a.size());
      const double copy_s = sec_since(t0);
      std::printf("write: %u logs of %.1f MB in %.2f s = %.0f MB/s (one transaction each, fsync on commit)\n",
                  logs, bytes_per_log / 1e6, write_s, bytes_per_log * logs / write_s / 1e6);
      std::printf(
          "read:  %.1f MB of pages in %.3f s = %.2f GB/s (zero-copy views + xxh64 check); memcpy of the same "
          "bytes %.2f GB/s%s\n",
          bytes_per_log * logs / 1e6, read_s, bytes_per_log * logs / read_s / 1e9,
          bytes_per_log * logs / copy_s / 1e9, checksum == -1 ? "!" : "");
      j["write_mbps"] = bytes_per_log * logs / write_s / 1e6;
      j["read_gbps"] = bytes_per_log * logs / read_s / 1e9;
      j["memcpy_gbps"] = bytes_per_log * logs / copy_s / 1e9;
      j["log_bytes"] = bytes_per_log;
    }
    // Retrieval latency: small logs (1 token, 1 layer) so that 100k fit quickly; 64-dim vectors.
    nlohmann::json retrieval = nlohmann::json::array();
    std::printf("\n%-8s %14s %14s %14s\n", "logs", "BM25 ms", "dense ms", "index build ms");
    const std::vector<std::uint32_t> counts =
        quick ? std::vector<std::uint32_t>{1000} : std::vector<std::uint32_t>{1000, 10000, 100000};
    for (std::uint32_t count : counts) {
      std::filesystem::remove_all(dir);
      // Filling 100k logs with an fsync each would measure the disk, not the store: bulk load without.
      StoreOptions bulk{true, bench_fingerprint(1), 64ull << 20, 8ull << 30};
      bulk.durable = false;
      auto store = Store::open(dir, bulk);
      std::vector<std::uint16_t> kv(256, 0x3c00);
      LogKvInput in{1, {kv}, {kv}};
      std::vector<float> vec(64);
      for (std::uint32_t i = 0; i < count; ++i) {
        LogRecord rec;
        for (int w = 0; w < 8; ++w)
          rec.retrieval_text += std::string(kWords[rng() % std::size(kWords)]) + " ";
        rec.task = rec.retrieval_text;
        rec.token_ids = {1};
        rec.positions = {0};
        for (auto& x : vec) x = float(rng() % 1000) / 500.0f - 1.0f;
        store->put_log(rec, in, vec);
      }
      auto t0 = Clock::now();
      (void)store->search("warm", 1);  // builds the index
      const double build_ms = sec_since(t0) * 1e3;
      constexpr int kQueries = 20;
      t0 = Clock::now();
      for (int q = 0; q < kQueries; ++q)
        (void)store->search("where was the director of the glass harbor born", 3);
      const double bm25_ms = sec_since(t0) * 1e3 / kQueries;
      t0 = Clock::now();
      for (int q = 0; q < kQueries; ++q) (void)store->search_dense(vec, 3);
      const double dense_ms = sec_since(t0) * 1e3 / kQueries;
      std::printf("%-8u %14.3f %14.3f %14.1f\n", count, bm25_ms, dense_ms, build_ms);
      retrieval.push_back(
          {{"logs", count}, {"bm25_ms", bm25_ms}, {"dense_ms", dense_ms}, {"index_build_ms", build_ms}});
    }
    j["retrieval"] = retrieval;
    std::filesystem::remove_all(dir);
    if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
