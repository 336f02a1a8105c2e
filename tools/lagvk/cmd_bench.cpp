// lagvk bench: one run that says how fast lagvk is on this device and driver, and how close to the
// device's own limits: the device, the measured roofs (Vulkan buffer copy, shader FMA), kernel
// throughput per weight format, a model's prefill and decode at several context depths, LAG time to first
// token, and llama.cpp on the same model and device when its peer is installed. Progress on stderr, a
// table on stdout, every figure in --json for bench/plot.py.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "lagvk/lagvk.h"
#include "tools/bench/kernel_speed.hpp"
#include "tools/bench/lag_speed.hpp"
#include "tools/bench/machine_limits.hpp"
#include "tools/bench/model_speed.hpp"
#include "tools/bench/peer.hpp"
#include "tools/bench/reference_model.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/bench_plan.hpp"
#include "tools/lagvk/bench_progress.hpp"
#include "tools/lagvk/bench_table.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {

namespace {

using nlohmann::json;

constexpr int kExitUsage = 2;

/// `base` with the fields of `extra` added.
json with(json base, const json& extra) {
  base.update(extra);
  return base;
}
constexpr std::uint32_t kMaxTokens = 1u << 20;

Args bench_args() {
  return Args(
      "bench",
      "[-m FILE | --make TYPE] [-p N] [-n N] [-d LIST] [-r N] [--parts LIST] [--quick] [--json FILE|-]",
      "Measures lagvk on this device and driver, next to the device's own limits measured in the same run,\n"
      "like llama-bench: compare drivers, devices and versions with the JSON and bench/plot.py.\n"
      "  roofs    the device and driver; Vulkan buffer copy GB/s and shader fp32 FMA GFLOP/s (the roofs\n"
      "           the kernels are measured against); host memory read and memcpy GB/s (the roof itself\n"
      "           on a CPU device such as lavapipe)\n"
      "  kernels  per weight format: matrix-vector GB/s (decode) and % of the copy roof, matrix-multiply\n"
      "           GFLOP/s (prefill) and % of the FMA peak, on random weights\n"
      "  model    prefill (pp: -p tokens in one go) and decode (tg: -n tokens one at a time, greedy) tok/s\n"
      "           after -d tokens already in the cache; decode GB/s = weight bytes x tok/s\n"
      "  lag      LAG time to first token: a question after k stored logs of T tokens, kv (stored KV\n"
      "           spliced in), text (the logs re-read) and none (the question alone)\n"
      "  peer     llama.cpp (tools/peer, scripts/setup_peer.sh) on the same model: its Vulkan backend on\n"
      "           the same device (GGML_VK_VISIBLE_DEVICES) and its native CPU backend, depth 0, pp and tg\n"
      "The model is -m FILE, or a random llama model of --make TYPE written once to /tmp (16 layers, dim\n"
      "1024, vocab 32000: 0.5 GB in f16; with --quick 4 layers, dim 512, vocab 8192).\n"
      "Progress with an ETA goes to stderr, the table to stdout. A full run takes about 15 minutes on a\n"
      "2-core CPU with lavapipe; --quick takes under a minute: smaller roofs probes, kernels of 2048 x 2048\n"
      "for f16, q8_0, q4_0 and q4_k only, the small model with -p 64 -n 16 -d 0,256 -r 1, LAG with 64-token\n"
      "logs and k = 1, 3, and no peer unless --parts names it.\n"
      "llama.cpp's CPU backend uses every core (up to 8; LAGVK_PEER_THREADS=N sets it): its threads spin\n"
      "while they wait, so on a machine busy with other work it falls far behind; measure on an idle one.\n"
      "examples:\n"
      "  lagvk bench --quick\n"
      "  lagvk bench --make q4_0 -p 256 -n 64 -d 0,2048 --json RUN.json\n"
      "  lagvk bench -m MODEL.gguf --parts model,peer -r 3\n"
      "  python3 bench/plot.py A.json B.json -o compare.png",
      {{"--model", "-m", "FILE", "GGUF model for the model, lag and peer parts (default: the generated one)",
        ""},
       {"--make", "", "TYPE",
        "weight type of the generated model: f16, q8_0, q4_0, q4_k, ... (any type with GPU kernels)", "f16"},
       {"--n-prompt", "-p", "N", "prompt tokens of each prefill test (0: none)", "512; --quick 64"},
       {"--n-gen", "-n", "N", "tokens of each decode test (0: none)", "128; --quick 16"},
       {"--n-depth", "-d", "LIST", "context depths, comma-separated: tokens in the cache before each test",
        "0,512,2048; --quick 0,256"},
       {"--repetitions", "-r", "N", "runs of each model test; the best counts", "2; --quick 1"},
       {"--parts", "", "LIST", "what to measure, comma-separated: roofs, kernels, model, lag, peer",
        "all; --quick all but peer"},
       {"--quick", "", "", "a look in under a minute (smaller sizes, see above)", ""},
       {"--tiny", "", "", "the smallest sizes, for tests: the figures mean little", ""},
       {"--device", "", "N", "Vulkan device index (see 'lagvk devices')", ""},
       {"--json", "", "FILE|-",
        "write every figure, the command line, commit and date as JSON to FILE (-: to stdout, instead of "
        "the table)",
        ""}});
}

BenchPlan plan_from(const Args& args) {
  if (args.has("--quick") && args.has("--tiny")) fail("lagvk bench: give --quick or --tiny, not both");
  if (args.has("--model") && args.has("--make")) fail("lagvk bench: give -m FILE or --make TYPE, not both");
  const BenchMode mode = args.has("--tiny")    ? BenchMode::tiny
                         : args.has("--quick") ? BenchMode::quick
                                               : BenchMode::full;
  BenchPlan p = default_plan(mode, args.get_or("--parts", ""));
  p.device = int(args.get_int("--device", -1, -1, 1 << 16));
  p.model_path = args.get_or("--model", "");
  p.make_type = args.get_or("--make", "f16");
  const auto type = parse_ggml_type(p.make_type);
  if (!type || !has_gpu_kernels(*type))
    fail("lagvk bench: --make expects a weight type with GPU kernels (f16, q8_0, q4_0, q4_k, ...), got '{}'",
         p.make_type);
  p.prompt_tokens = std::uint32_t(args.get_int("--n-prompt", p.prompt_tokens, 0, kMaxTokens));
  p.gen_tokens = std::uint32_t(args.get_int("--n-gen", p.gen_tokens, 0, kMaxTokens));
  if (const auto d = args.get("--n-depth")) p.depths = parse_uint_list("--n-depth (-d)", *d, kMaxTokens);
  p.reps = int(args.get_int("--repetitions", p.reps, 1, 1000));
  return p;
}

std::string shell_word(const std::string& w) {
  if (!w.empty() && w.find_first_of(" \t\n'\"\\$`*?;&|<>()[]{}!#~") == std::string::npos) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Rough work of each step, in seconds on an idle 2-core CPU with lavapipe, for the ETA: the roofs and
/// kernels by the mode's sizes, the model, LAG and peer steps by tokens and the model's bytes (the
/// reference f16 model, about 0.5 GB, prefills some 25 tokens/s and decodes 5). The progress extrapolates
/// the time the finished steps took, so only the proportions matter.
struct Weights {
  double roofs, kernel, model_load, lag_setup, lag_size, peer_vulkan, peer_cpu;
  std::vector<double> depth;
};

Weights estimate(const BenchPlan& p, double model_bytes) {
  const double sizes = p.mode == BenchMode::full ? 1.0 : p.mode == BenchMode::quick ? 0.1 : 0.01;
  const double model = std::max(0.01, model_bytes / 0.5e9);
  const double prefill = 1 / 25.0 * model, decode = 1 / 5.0 * model;  // seconds per token
  Weights w{};
  w.roofs = 10 * sizes;
  w.kernel = 8 * sizes;
  w.model_load = 5 * model;
  for (std::uint32_t d : p.depths)
    w.depth.push_back(p.reps * (d + p.prompt_tokens) * prefill * (1 + d / 4096.0) +
                      p.reps * p.gen_tokens * decode);
  w.lag_setup = 2 * model;
  std::uint32_t k_sum = 0;
  for (std::uint32_t k : p.lag_ks) k_sum += k;
  const double tokens = p.lag_tokens.empty() ? 0 : p.lag_tokens.back();
  w.lag_size = (k_sum * tokens + 3.0 * 40 * double(p.lag_ks.size())) * prefill;
  // llama.cpp's Vulkan backend on lavapipe: about half lagvk's speed, and a warm-up that compiles its
  // pipelines; its native CPU backend: about ten times lagvk's.
  w.peer_vulkan = (p.reps + 1) * (p.prompt_tokens * prefill + p.gen_tokens * decode) * 2 + 60;
  w.peer_cpu = (p.reps + 1) * (p.prompt_tokens * prefill + p.gen_tokens * decode) / 10 + 5;
  return w;
}

class BenchRun {
 public:
  /// model_path: -m, or the generated model (empty when no part needs one).
  BenchRun(const BenchPlan& plan, const vk::InstanceOptions& vulkan, std::string model_path)
      : plan_(plan), vulkan_(vulkan), model_path_(std::move(model_path)) {
    std::error_code no_size;
    const auto bytes = model_path_.empty() ? 0 : std::filesystem::file_size(model_path_, no_size);
    const Weights w = estimate(plan_, no_size ? 0.0 : double(bytes));
    double total = 0;
    if (plan_.has("roofs")) total += w.roofs;
    if (plan_.has("kernels")) total += w.kernel * double(plan_.formats.size());
    if (plan_.has("model") || plan_.has("lag")) total += w.model_load;
    if (plan_.has("model"))
      for (double d : w.depth) total += d;
    if (plan_.has("lag")) total += w.lag_setup + w.lag_size * double(plan_.lag_tokens.size());
    if (plan_.has("peer")) total += w.peer_vulkan + w.peer_cpu;
    weights_ = w;
    progress_ = std::make_unique<BenchProgress>(total);
  }

  json run(json out) {
    if (plan_.has("model") || plan_.has("lag")) load_engine(out);
    vk::Context& ctx = context();
    out["device"] = ctx.info();
    if (plan_.has("roofs") || plan_.has("kernels")) roofs(ctx, out);
    if (plan_.has("kernels")) kernels(ctx, out);
    if (plan_.has("model")) model(out);
    if (plan_.has("lag")) lag(out);
    if (plan_.has("peer")) peer(ctx, out);
    progress_->finish();
    return out;
  }

 private:
  vk::Context& context() {
    if (engine_) return engine_->context();
    if (!ctx_) {
      vk::ContextOptions o;
      o.device_index = plan_.device;
      o.instance = vulkan_;
      ctx_ = std::make_unique<vk::Context>(o);
    }
    return *ctx_;
  }

  void load_engine(json& out) {
    progress_->begin(fmt::format("model: loading {}", model_path_), weights_.model_load);
    LoadOptions load;
    load.device = plan_.device;
    load.instance = vulkan_;
    load.context = plan_.context_tokens();
    load.max_batch = 512;
    engine_ = Engine::load(model_path_, load);
    const auto& c = engine_->config();
    out["model"] = {{"path", model_path_},
                    {"generated", plan_.model_path.empty()},
                    {"type", plan_.model_path.empty() ? plan_.make_type : ""},
                    {"layers", c.layers},
                    {"dim", c.dim},
                    {"heads", c.heads},
                    {"kv_heads", c.kv_heads},
                    {"vocab", c.vocab},
                    {"weights_bytes", engine_->weight_bytes()},
                    {"load_ms", engine_->load_ms()},
                    {"context_tokens", engine_->context_tokens()},
                    {"rows", json::array()}};
    progress_->result(
        fmt::format("{:.0f} MB of weights in {:.0f} ms", engine_->weight_bytes() * 1e-6, engine_->load_ms()));
  }

  void roofs(vk::Context& ctx, json& out) {
    progress_->begin(fmt::format("roofs: copying {} MiB, fp32 FMA on {} workgroups", plan_.probe.bytes >> 21,
                                 plan_.probe.fma_workgroups),
                     weights_.roofs);
    limits_ = bench::probe_machine(ctx, plan_.probe);
    out["roofs"] = {
        {"gpu_copy_gbps", limits_.gpu_copy_gbps},   {"gpu_fp32_gflops", limits_.gpu_fp32_gflops},
        {"host_read_gbps", limits_.host_read_gbps}, {"host_memcpy_gbps", limits_.host_memcpy_gbps},
        {"cpu_device", ctx.info().type == "cpu"},   {"probe_bytes", plan_.probe.bytes}};
    progress_->result(fmt::format("Vulkan copy {:.1f} GB/s, fp32 FMA {:.1f} GFLOP/s, host read {:.1f} GB/s",
                                  limits_.gpu_copy_gbps, limits_.gpu_fp32_gflops, limits_.host_read_gbps));
  }

  void kernels(vk::Context& ctx, json& out) {
    const auto& s = plan_.kernel_shape;
    out["kernels"] = {
        {"matvec_shape", {s.n, s.k}}, {"matmul_shape", {s.m, s.n, s.k}}, {"rows", json::array()}};
    for (WeightFormat f : plan_.formats) {
      progress_->begin(
          fmt::format("kernels: {} matvec {}x{}, matmul {}x{}x{}", format_name(f), s.n, s.k, s.m, s.n, s.k),
          weights_.kernel);
      const auto r = bench::measure_kernel_speed(ctx, f, s);
      const double mv_roof = r.matvec_gbps / limits_.gpu_copy_gbps,
                   mm_peak = r.matmul_gflops / limits_.gpu_fp32_gflops;
      out["kernels"]["rows"].push_back({{"format", format_name(f)},
                                        {"matvec_ms", r.matvec_ms},
                                        {"matvec_gbps", r.matvec_gbps},
                                        {"matvec_fraction_of_copy_roof", mv_roof},
                                        {"matmul_ms", r.matmul_ms},
                                        {"matmul_gflops", r.matmul_gflops},
                                        {"matmul_fraction_of_fma_peak", mm_peak}});
      progress_->result(
          fmt::format("matvec {:.2f} GB/s ({:.0f}% of the copy roof), matmul {:.2f} GFLOP/s ({:.0f}% "
                      "of the FMA peak)",
                      r.matvec_gbps, 100 * mv_roof, r.matmul_gflops, 100 * mm_peak));
    }
  }

  void model(json& out) {
    for (std::size_t i = 0; i < plan_.depths.size(); ++i) {
      const std::uint32_t d = plan_.depths[i];
      progress_->begin(fmt::format("model: pp{} and tg{} at depth {}, best of {}", plan_.prompt_tokens,
                                   plan_.gen_tokens, d, plan_.reps),
                       weights_.depth[i]);
      const auto r =
          bench::measure_model_speed(*engine_, {d, plan_.prompt_tokens, plan_.gen_tokens, plan_.reps});
      const double gbps = double(engine_->weight_bytes()) * r.decode_tps * 1e-9;
      json row = {{"engine", "lagvk"}, {"backend", "vulkan"}, {"depth", d}, {"reps", plan_.reps}};
      std::string text;
      if (plan_.prompt_tokens > 0) {
        out["model"]["rows"].push_back(with(
            row,
            {{"test", "pp"}, {"tokens", plan_.prompt_tokens}, {"ms", r.prefill_ms}, {"tps", r.prefill_tps}}));
        text = fmt::format("prefill {:.1f} tok/s", r.prefill_tps);
      }
      if (plan_.gen_tokens > 0) {
        json tg = with(row, {{"test", "tg"},
                             {"tokens", plan_.gen_tokens},
                             {"ms", r.decode_ms},
                             {"tps", r.decode_tps},
                             {"gbps", gbps}});
        if (limits_.gpu_copy_gbps > 0) tg["fraction_of_copy_roof"] = gbps / limits_.gpu_copy_gbps;
        out["model"]["rows"].push_back(tg);
        text += fmt::format("{}decode {:.2f} tok/s ({:.2f} GB/s of weights)", text.empty() ? "" : ", ",
                            r.decode_tps, gbps);
      }
      progress_->result(text);
    }
  }

  void lag(json& out) {
    progress_->begin("lag: a scratch store of random logs", weights_.lag_setup);
    bench::LagBench bench(*engine_, fmt::format("/tmp/lagvk-bench-lag-{}", ::getpid()));
    out["lag"] = {{"question_tokens", bench.prompt().size()}, {"rows", json::array()}};
    for (std::uint32_t tokens : plan_.lag_tokens) {
      progress_->begin(fmt::format("lag: time to first token after k logs of {} tokens", tokens),
                       weights_.lag_size);
      double kv = 0;
      (void)bench.ttft_table({tokens}, plan_.lag_ks, [&](const bench::LagTtft& r) {
        out["lag"]["rows"].push_back({{"tokens_per_log", r.tokens_per_log},
                                      {"k", r.k},
                                      {"mode", r.mode},
                                      {"logs_ms", r.logs_ms},
                                      {"prompt_ms", r.prompt_ms},
                                      {"ttft_ms", r.ttft_ms}});
        if (r.mode == "kv") kv = r.ttft_ms;
        if (r.mode == "text")
          progress_->result(fmt::format("k={}: kv {:.1f} ms, text {:.1f} ms ({:.1f}x)", r.k, kv, r.ttft_ms,
                                        r.ttft_ms / kv));
      });
    }
  }

  void peer(vk::Context& ctx, json& out) {
    out["peer"] = {{"installed", bench::llama_peer_installed()}, {"rows", json::array()}};
    if (!bench::llama_peer_installed()) {
      out["peer"]["note"] = "llama.cpp peer not installed (scripts/setup_peer.sh)";
      progress_->begin("peer: llama.cpp not installed (scripts/setup_peer.sh); skipped",
                       weights_.peer_vulkan + weights_.peer_cpu);
      return;
    }
    for (auto backend : {bench::PeerBackend::vulkan, bench::PeerBackend::native_cpu}) {
      const bool vulkan = backend == bench::PeerBackend::vulkan;
      progress_->begin(
          fmt::format("peer: llama.cpp {} pp{} tg{} (one untimed warm-up, median of {})",
                      vulkan ? "Vulkan on " + ctx.info().name : std::string("native CPU backend"),
                      plan_.prompt_tokens, plan_.gen_tokens, plan_.reps),
          vulkan ? weights_.peer_vulkan : weights_.peer_cpu);
      const auto r = bench::run_llama_peer_bench(
          {model_path_, int(std::max<std::uint32_t>(1, plan_.prompt_tokens)),
           int(std::max<std::uint32_t>(1, plan_.gen_tokens)), plan_.reps, backend, int(ctx.info().index)});
      const std::string label = vulkan ? "vulkan" : "cpu";
      if (!r) {
        out["peer"]["rows"].push_back({{"backend", label}, {"error", "the peer failed (see stderr)"}});
        progress_->result("failed");
        continue;
      }
      const json row = {{"engine", "llama.cpp"},     {"backend", label},      {"device", r->device},
                        {"llama_cpp", r->llama_cpp}, {"threads", r->threads}, {"depth", 0},
                        {"reps", plan_.reps},        {"load_ms", r->load_ms}};
      out["peer"]["rows"].push_back(
          with(row, {{"test", "pp"}, {"tokens", plan_.prompt_tokens}, {"tps", r->prefill_tps}}));
      out["peer"]["rows"].push_back(
          with(row, {{"test", "tg"}, {"tokens", plan_.gen_tokens}, {"tps", r->decode_tps}}));
      progress_->result(fmt::format("prefill {:.1f} tok/s, decode {:.2f} tok/s ({})", r->prefill_tps,
                                    r->decode_tps, r->backend));
    }
  }

  const BenchPlan& plan_;
  vk::InstanceOptions vulkan_;
  std::string model_path_;
  Weights weights_{};
  std::unique_ptr<BenchProgress> progress_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<vk::Context> ctx_;
  bench::MachineLimits limits_;
};

}  // namespace

int cmd_bench(int argc, char** argv, const vk::InstanceOptions& vulkan) {
  Args args = bench_args();
  BenchPlan plan;
  try {
    if (!args.parse(argc, argv)) return 0;
    plan = plan_from(args);
  } catch (const lagvk::Error& e) {
    std::fprintf(
        stderr, "error: %s\nusage: lagvk bench %s\n(see 'lagvk bench --help')\n", e.what(),
        "[-m FILE | --make TYPE] [-p N] [-n N] [-d LIST] [-r N] [--parts LIST] [--quick] [--json FILE|-]");
    return kExitUsage;
  }
  // A model that is not there fails now, not after minutes of kernels.
  if (!plan.model_path.empty()) require_regular_file(plan.model_path);
  const std::string json_path = args.get_or("--json", "");
  std::string command = "lagvk bench";
  for (int i = 0; i < argc; ++i) command += " " + shell_word(argv[i]);
  json out = {{"lagvk_bench", 1},
              {"command", command},
              {"version", lagvk_version_string()},
              {"commit", lagvk_build_commit()},
              {"date", utc_now()},
              {"mode", mode_name(plan.mode)},
              {"parts", plan.parts}};
  std::string model_path = plan.model_path;
  if (model_path.empty() && (plan.has("model") || plan.has("lag") || plan.has("peer")))
    model_path = bench::reference_model(plan.make_type, plan.model_size);
  BenchRun run(plan, vulkan, model_path);
  out = run.run(std::move(out));
  if (json_path == "-") {
    std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  print_bench_table(out, stdout);
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    if (!f) fail(Errc::io, "cannot write '{}'", json_path);
    std::fprintf(stderr, "wrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace lagvk::cli
