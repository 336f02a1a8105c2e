// Whole-model benchmark: load time, prefill and decode tokens/s of lagvk on a GGUF model, the memory
// bandwidth decode achieves (weight bytes streamed per token x tokens/s) next to the machine limits
// measured in the same run, and, when the llama.cpp peer is installed (tools/peer), llama.cpp's Vulkan
// backend on the same file in the same run, as ratios.
// usage: bench_model (--model FILE | --make f16|q8_0|q4_0) [--prompt-tokens N] [--gen-tokens N]
//                    [--reps N] [--json FILE] [--no-peer]
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/machine_limits.hpp"
#include "tools/bench/model_speed.hpp"
#include "tools/bench/peer.hpp"
#include "tools/bench/reference_model.hpp"

namespace {

using namespace lagvk;

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
    LoadOptions load;
    load.context = std::uint32_t(prompt_tokens + gen_tokens + 16);
    load.max_batch = 512;
    auto engine = Engine::load(model_path, load);
    vk::Context& ctx = engine->context();
    std::printf("device: %s\nmodel: %s\n", ctx.info().name.c_str(), model_path.c_str());
    const auto limits = bench::probe_machine(ctx);
    // The roof: bytes per second a Vulkan buffer copy moves on this device (measured above).
    const double roof = limits.gpu_copy_gbps;
    const double load_s = engine->load_ms() * 1e-3;
    const auto speed = bench::measure_model_speed(
        *engine, {0, std::uint32_t(prompt_tokens), std::uint32_t(gen_tokens), reps});
    const ForwardTimings step = engine->forward().last_timings();  // the last decode step's commands
    if (std::getenv("LAGVK_PROFILE")) {
      // One profiled prefill and decode step: GPU time per kernel kind.
      Forward& forward = engine->forward();
      const auto prompt = bench::bench_tokens(std::uint32_t(prompt_tokens), engine->config().vocab, 2);
      std::vector<std::int32_t> positions(prompt.size());
      for (std::size_t i = 0; i < prompt.size(); ++i) positions[i] = std::int32_t(i);
      forward.set_profiling(true);
      auto seq = engine->new_sequence();
      for (int phase = 0; phase < 2; ++phase) {
        const std::int32_t tok = 300, pos = std::int32_t(seq->length());
        const auto logits = phase == 0 ? forward.eval(*seq, prompt, positions)
                                       : forward.eval(*seq, std::span<const std::int32_t>(&tok, 1),
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
    const std::uint64_t weight_bytes = engine->weight_bytes();
    const double prefill_tps = speed.prefill_tps, decode_tps = speed.decode_tps;
    const double decode_gbps = double(weight_bytes) * decode_tps * 1e-9;
    std::printf(
        "\nmachine: host read %.1f GB/s, GPU copy %.1f GB/s, GPU fp32 %.1f GFLOP/s; weights %.1f MB\n",
        limits.host_read_gbps, limits.gpu_copy_gbps, limits.gpu_fp32_gflops, weight_bytes * 1e-6);
    std::printf(
        "lagvk:     load %.0f ms, prefill %.1f tok/s, decode %.2f tok/s (%.1f GB/s, %.0f%% of the %.1f GB/s "
        "roof)\n",
        load_s * 1e3, prefill_tps, decode_tps, decode_gbps, 100 * decode_gbps / roof, roof);
    std::printf("decode step: %u dispatches, %u barriers, %u submits\n", step.dispatches, step.barriers,
                step.submits);
    nlohmann::json j{{"model", model_path},
                     {"device", ctx.info().name},
                     {"weights_bytes", weight_bytes},
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
      const auto p = bench::run_llama_peer_bench(
          {model_path, prompt_tokens, gen_tokens, 2, bench::PeerBackend::vulkan, int(ctx.info().index)});
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
