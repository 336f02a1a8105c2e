// Whole-model benchmark: load time, prefill and decode tokens/s of lagvk on a GGUF model, the memory
// bandwidth decode achieves (weight bytes streamed per token x tokens/s) next to the machine limits
// measured in the same run, and, when the llama.cpp peer is installed (tools/peer), llama.cpp's Vulkan
// backend on the same file in the same run, as ratios.
// usage: bench_model (--model FILE | --make f16|q8_0|q4_0) [--prompt-tokens N] [--gen-tokens N]
//                    [--reps N] [--json FILE] [--no-peer]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/support/bench_models.hpp"
#include "bench/support/machine_limits.hpp"
#include "bench/support/peer.hpp"
#include "engine/forward/forward.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/model/random_model.hpp"

namespace {

using namespace lagvk;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, make_type, json_path;
  int prompt_tokens = 128, gen_tokens = 64, reps = 2;
  bool peer = true;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] {
      return i + 1 < argc ? argv[++i] : (std::fprintf(stderr, "missing value\n"), std::exit(2), "");
    };
    if (!std::strcmp(argv[i], "--model"))
      model_path = next();
    else if (!std::strcmp(argv[i], "--make"))
      make_type = next();
    else if (!std::strcmp(argv[i], "--prompt-tokens"))
      prompt_tokens = std::atoi(next());
    else if (!std::strcmp(argv[i], "--gen-tokens"))
      gen_tokens = std::atoi(next());
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(next());
    else if (!std::strcmp(argv[i], "--json"))
      json_path = next();
    else if (!std::strcmp(argv[i], "--no-peer"))
      peer = false;
    else {
      std::fprintf(
          stderr,
          "usage: bench_model (--model FILE | --make f16|q8_0|q4_0) [--prompt-tokens N] [--gen-tokens N] "
          "[--reps N] [--json FILE] [--no-peer]\n");
      return 2;
    }
  }
  try {
    if (model_path.empty()) {
      model_path = bench::reference_model(make_type.empty() ? "f16" : make_type);
    }
    vk::Context ctx;
    std::printf("device: %s\nmodel: %s\n", ctx.info().name.c_str(), model_path.c_str());
    const auto limits = bench::probe_machine(ctx);
    // The roof: bytes per second a Vulkan buffer copy moves on this device (measured above).
    const double roof = limits.gpu_copy_gbps;

    auto t0 = Clock::now();
    Model model = Model::open(model_path);
    const HostWeights host = host_weights(model);
    GpuWeights weights(ctx, host);
    const auto& c = host.config;
    const std::uint32_t ctx_tokens = std::uint32_t(prompt_tokens + gen_tokens + 16);
    KvPool pool(ctx, {c.layers, c.kv_heads, c.head_dim, 16}, ctx_tokens / 16 + 2);
    Forward forward(ctx, weights, 512);
    const double load_s = since(t0);

    std::vector<std::int32_t> prompt(static_cast<std::size_t>(prompt_tokens));
    std::vector<std::int32_t> positions(prompt.size());
    for (std::size_t i = 0; i < prompt.size(); ++i) {
      prompt[i] = std::int32_t(259 + (i * 7919) % (c.vocab - 259));
      positions[i] = std::int32_t(i);
    }
    double best_prefill = 1e30, best_decode = 1e30;
    for (int r = 0; r < reps; ++r) {
      KvSequence seq(ctx, pool, ctx_tokens);
      t0 = Clock::now();
      auto logits = forward.eval(seq, prompt, positions);
      best_prefill = std::min(best_prefill, since(t0));
      std::int32_t tok = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      t0 = Clock::now();
      for (int g = 0; g < gen_tokens; ++g) {
        const std::int32_t pos = std::int32_t(seq.length());
        logits =
            forward.eval(seq, std::span<const std::int32_t>(&tok, 1), std::span<const std::int32_t>(&pos, 1));
        tok = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      }
      best_decode = std::min(best_decode, since(t0));
    }
    const ForwardTimings step = forward.last_timings();  // the last decode step's commands
    if (std::getenv("LAGVK_PROFILE")) {
      // One profiled prefill and decode step: GPU time per kernel kind.
      forward.set_profiling(true);
      KvSequence seq(ctx, pool, ctx_tokens);
      for (int phase = 0; phase < 2; ++phase) {
        const std::int32_t tok = 300, pos = std::int32_t(seq.length());
        const auto logits = phase == 0 ? forward.eval(seq, prompt, positions)
                                       : forward.eval(seq, std::span<const std::int32_t>(&tok, 1),
                                                      std::span<const std::int32_t>(&pos, 1));
        std::map<std::string, std::pair<double, int>> by_kernel;
        for (const auto& k : forward.last_timings().kernels) {
          by_kernel[k.label].first += k.milliseconds;
          by_kernel[k.label].second++;
        }
        std::printf("%s profile (wall %.1f ms):\n", phase == 0 ? "prefill" : "decode",
                    forward.last_timings().gpu_ms);
        for (const auto& [label, v] : by_kernel)
          std::printf("  %-12s %8.2f ms over %d dispatches\n", label.c_str(), v.first, v.second);
      }
      forward.set_profiling(false);
    }
    const double prefill_tps = prompt_tokens / best_prefill, decode_tps = gen_tokens / best_decode;
    const double decode_gbps = double(weights.bytes()) * decode_tps * 1e-9;
    std::printf(
        "\nmachine: host read %.1f GB/s, GPU copy %.1f GB/s, GPU fp32 %.1f GFLOP/s; weights %.1f MB\n",
        limits.host_read_gbps, limits.gpu_copy_gbps, limits.gpu_fp32_gflops, weights.bytes() * 1e-6);
    std::printf(
        "lagvk:     load %.0f ms, prefill %.1f tok/s, decode %.2f tok/s (%.1f GB/s, %.0f%% of the %.1f GB/s "
        "roof)\n",
        load_s * 1e3, prefill_tps, decode_tps, decode_gbps, 100 * decode_gbps / roof, roof);
    std::printf("decode step: %u dispatches, %u barriers, %u submits\n", step.dispatches, step.barriers,
                step.submits);
    nlohmann::json j{{"model", model_path},
                     {"device", ctx.info().name},
                     {"weights_bytes", weights.bytes()},
                     {"prompt_tokens", prompt_tokens},
                     {"gen_tokens", gen_tokens},
                     {"limits",
                      {{"host_read_gbps", limits.host_read_gbps},
                       {"gpu_copy_gbps", limits.gpu_copy_gbps},
                       {"gpu_fp32_gflops", limits.gpu_fp32_gflops},
                       {"roof_gbps", roof}}},
                     {"lagvk",
                      {{"load_ms", load_s * 1e3},
                       {"prefill_tps", prefill_tps},
                       {"decode_tps", decode_tps},
                       {"decode_gbps", decode_gbps},
                       {"decode_fraction_of_roof", decode_gbps / roof},
                       {"decode_step_dispatches", step.dispatches},
                       {"decode_step_barriers", step.barriers},
                       {"decode_step_submits", step.submits}}}};
    if (peer) {
      const auto p = bench::run_llama_peer_bench(model_path, prompt_tokens, gen_tokens);
      if (p) {
        std::printf("llama.cpp: prefill %.1f tok/s, decode %.2f tok/s (%s)\n", p->prefill_tps, p->decode_tps,
                    p->backend.c_str());
        std::printf("ratio lagvk / llama.cpp: prefill %.2fx, decode %.2fx\n", prefill_tps / p->prefill_tps,
                    decode_tps / p->decode_tps);
        j["llama_cpp"] = {
            {"prefill_tps", p->prefill_tps}, {"decode_tps", p->decode_tps}, {"backend", p->backend}};
        j["ratio"] = {{"prefill", prefill_tps / p->prefill_tps}, {"decode", decode_tps / p->decode_tps}};
      } else {
        std::printf("llama.cpp peer not available (run scripts/setup.sh); no ratios\n");
      }
    }
    if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
