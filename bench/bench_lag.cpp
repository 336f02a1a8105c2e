// LAG benchmark: time to first token for a question with k = 1, 3 and 10 logs of 64 and 256 stored tokens
// each, in kv (splice stored KV), text (re-read the logs' tokens) and none modes, on the same model and
// device; splice throughput next to a memcpy of the same bytes; retrieval latency of the store.
// usage: bench_lag [--model FILE | --make f16|q8_0|q4_0] [--quick] [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/support/bench_models.hpp"
#include "engine/lag/context_builder.hpp"
#include "engine/lag/model_fingerprint.hpp"
#include "engine/lag/store_library.hpp"
#include "engine/lag/trace.hpp"

namespace {

using namespace lagvk;
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// A log of `tokens` random tokens with random (small, finite) fp16 KV: timing does not depend on values.
logstore::LogId add_log(logstore::Store& store, std::uint32_t tokens, std::uint32_t seed,
                        const std::string& task) {
  const auto& f = store.fingerprint();
  std::mt19937 rng(seed);
  logstore::LogRecord rec;
  rec.task = rec.retrieval_text = task;
  rec.selection = "last";
  for (std::uint32_t t = 0; t < tokens; ++t) {
    rec.token_ids.push_back(std::int32_t(300 + rng() % 20000));
    rec.positions.push_back(std::int32_t(t));
  }
  const std::size_t n = std::size_t(tokens) * f.kv_heads * f.head_dim;
  std::vector<std::vector<std::uint16_t>> k(f.layers, std::vector<std::uint16_t>(n)), v = k;
  for (auto& layer : k)
    for (auto& x : layer) x = std::uint16_t(0x2000 + rng() % 0x1000);
  for (auto& layer : v)
    for (auto& x : layer) x = std::uint16_t(0x2000 + rng() % 0x1000);
  logstore::LogKvInput in{tokens, {}, {}};
  for (std::uint32_t l = 0; l < f.layers; ++l) {
    in.k.emplace_back(k[l]);
    in.v.emplace_back(v[l]);
  }
  return store.put_log(rec, in);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, make = "f16", json_path;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--model") && i + 1 < argc)
      model_path = argv[++i];
    else if (!std::strcmp(argv[i], "--make") && i + 1 < argc)
      make = argv[++i];
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_lag [--model FILE | --make f16|q8_0|q4_0] [--quick] [--json FILE]\n");
      return 2;
    }
  }
  try {
    if (model_path.empty()) model_path = bench::reference_model(make);
    LoadOptions load;
    load.context = 4096;
    load.max_batch = 512;
    auto engine = Engine::load(model_path, load);
    std::printf("device: %s\nmodel: %s\n", engine->context().info().name.c_str(), model_path.c_str());
    const std::string dir = "/tmp/lagvk-bench-lag-store";
    std::filesystem::remove_all(dir);
    auto store = logstore::Store::open(dir, {true, lag::model_fingerprint(*engine)});
    lag::StoreLibrary library(*store);

    const std::vector<std::uint32_t> sizes =
        quick ? std::vector<std::uint32_t>{64} : std::vector<std::uint32_t>{64, 256};
    const std::vector<std::uint32_t> ks =
        quick ? std::vector<std::uint32_t>{1, 3} : std::vector<std::uint32_t>{1, 3, 10};
    const auto prompt = lag::render_prompt({{"user", "where was the director of the glass harbor born?"}},
                                           engine->tokenizer(), false);
    // Warm up pipelines (first use compiles shaders on some drivers).
    {
      const auto id = add_log(*store, 16, 1, "warm up");
      (void)lag::build_context(*engine, &library, {id}, lag::LogMode::kv, prompt);
      (void)lag::build_context(*engine, &library, {id}, lag::LogMode::text, prompt);
      (void)store->remove(id);
    }
    nlohmann::json rows = nlohmann::json::array();
    std::printf("\n%-8s %-4s %-6s %12s %12s %12s\n", "tokens", "k", "mode", "logs ms", "prompt ms",
                "TTFT ms");
    for (std::uint32_t tokens : sizes) {
      std::vector<lag::LogId> ids;
      for (std::uint32_t i = 0; i < ks.back(); ++i)
        ids.push_back(add_log(*store, tokens, 100 * tokens + i, "log " + std::to_string(i)));
      for (std::uint32_t k : ks) {
        const std::vector<lag::LogId> use(ids.begin(), ids.begin() + k);
        double ttft[3] = {0, 0, 0};
        for (lag::LogMode mode : {lag::LogMode::kv, lag::LogMode::text, lag::LogMode::none}) {
          const auto t0 = Clock::now();
          auto ctx = lag::build_context(*engine, &library, use, mode, prompt);
          (void)std::max_element(ctx.logits.begin(), ctx.logits.end());  // the first token is chosen here
          const double total = ms_since(t0);
          ttft[int(mode)] = total;
          std::printf("%-8u %-4u %-6s %12.1f %12.1f %12.1f\n", tokens, k,
                      std::string(lag::log_mode_name(mode)).c_str(), ctx.logs_ms, ctx.suffix_ms, total);
          rows.push_back({{"tokens_per_log", tokens},
                          {"k", k},
                          {"mode", lag::log_mode_name(mode)},
                          {"logs_ms", ctx.logs_ms},
                          {"prompt_ms", ctx.suffix_ms},
                          {"ttft_ms", total}});
        }
        std::printf("%-8s %-4s text/kv TTFT ratio: %.1fx\n", "", "", ttft[1] / ttft[0]);
      }
    }
    // Splice throughput: bytes of KV pages moved into the pool per second, next to memcpy of as many bytes.
    const auto& f = store->fingerprint();
    const std::uint32_t tokens = 256;
    const auto big = add_log(*store, tokens, 7, "splice");
    const double bytes = double(tokens) * f.kv_heads * f.head_dim * 2 * 2 * f.layers;
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
      auto ctx = lag::build_context(*engine, &library, {big}, lag::LogMode::kv, {});
      best = std::min(best, ctx.logs_ms);
    }
    std::vector<std::byte> a(static_cast<std::size_t>(bytes), std::byte{1});
    std::vector<std::byte> b(a.size());
    double copy_best = 1e30;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = Clock::now();
      std::memcpy(b.data(), a.data(), a.size());
      copy_best = std::min(copy_best, ms_since(t0));
    }
    std::printf("\nsplice: %.1f MB in %.2f ms = %.2f GB/s (memcpy of the same bytes: %.2f GB/s)\n",
                bytes / 1e6, best, bytes / best * 1e-6, bytes / copy_best * 1e-6);
    const auto t0 = Clock::now();
    constexpr int kQueries = 20;
    for (int q = 0; q < kQueries; ++q) (void)store->search("glass harbor director born", 3);
    const double search_ms = ms_since(t0) / kQueries;
    std::printf("retrieval: BM25 top-3 over %llu logs in %.3f ms\n", (unsigned long long)store->stats().logs,
                search_ms);
    if (!json_path.empty()) {
      nlohmann::json j{{"model", model_path},
                       {"device", engine->context().info().name},
                       {"ttft", rows},
                       {"splice",
                        {{"bytes", bytes},
                         {"ms", best},
                         {"gbps", bytes / best * 1e-6},
                         {"memcpy_gbps", bytes / copy_best * 1e-6}}},
                       {"retrieval_ms", search_ms}};
      std::ofstream(json_path) << j.dump(2) << "\n";
    }
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
