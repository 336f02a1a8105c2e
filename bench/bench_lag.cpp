// LAG benchmark: time to first token for a question with k = 1, 3 and 10 logs of 64 and 256 stored tokens
// each, in kv (splice stored KV), text (re-read the logs' tokens) and none modes, on the same model and
// device; splice throughput next to a memcpy of the same bytes; retrieval latency of the store.
// usage: bench_lag [--model FILE | --make f16|q8_0|q4_0] [--quick] [--json FILE]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/lag/context_builder.hpp"
#include "tools/bench/lag_speed.hpp"
#include "tools/bench/reference_model.hpp"
#include "tools/bench/timing.hpp"

namespace {

using namespace lagvk;
using bench::Clock;

double ms_since(Clock::time_point t0) {
  return bench::seconds_since(t0) * 1e3;
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
    bench::LagBench lag_bench(*engine, "/tmp/lagvk-bench-lag-store");
    auto* store = &lag_bench.store();
    auto& library = lag_bench.library();

    const std::vector<std::uint32_t> sizes =
        quick ? std::vector<std::uint32_t>{64} : std::vector<std::uint32_t>{64, 256};
    const std::vector<std::uint32_t> ks =
        quick ? std::vector<std::uint32_t>{1, 3} : std::vector<std::uint32_t>{1, 3, 10};
    nlohmann::json rows = nlohmann::json::array();
    std::printf("\n%-8s %-4s %-6s %12s %12s %12s\n", "tokens", "k", "mode", "logs ms", "prompt ms",
                "TTFT ms");
    double kv_ttft = 0;
    (void)lag_bench.ttft_table(sizes, ks, [&](const bench::LagTtft& r) {
      std::printf("%-8u %-4u %-6s %12.1f %12.1f %12.1f\n", r.tokens_per_log, r.k, r.mode.c_str(), r.logs_ms,
                  r.prompt_ms, r.ttft_ms);
      if (r.mode == "kv") kv_ttft = r.ttft_ms;
      if (r.mode == "text") std::printf("%-8s %-4s text/kv TTFT ratio: %.1fx\n", "", "", r.ttft_ms / kv_ttft);
      rows.push_back({{"tokens_per_log", r.tokens_per_log},
                      {"k", r.k},
                      {"mode", r.mode},
                      {"logs_ms", r.logs_ms},
                      {"prompt_ms", r.prompt_ms},
                      {"ttft_ms", r.ttft_ms}});
    });
    // Splice throughput: bytes of KV pages moved into the pool per second, next to memcpy of as many bytes.
    const auto& f = store->fingerprint();
    const std::uint32_t tokens = 256;
    const auto big = lag_bench.add_log(tokens, 7, "splice");
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
