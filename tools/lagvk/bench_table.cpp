#include "tools/lagvk/bench_table.hpp"

#include <map>
#include <string>

#include <fmt/format.h>

namespace lagvk::cli {

namespace {

using nlohmann::json;

std::string mib(const json& bytes) {
  return fmt::format("{} MiB", bytes.get<std::uint64_t>() >> 20);
}

/// "61%" of a fraction, or "" when the JSON has none.
std::string percent(const json& row, const char* key) {
  return row.contains(key) ? fmt::format("{:.0f}%", 100 * row[key].get<double>()) : "";
}

void print_device(const json& d, std::FILE* out) {
  fmt::print(out, "device   [{}] {} ({}, Vulkan {}, driver {} {}: {})\n", d.value("index", 0),
             d.value("name", "?"), d.value("type", "?"), d.value("api_version", "?"),
             d.value("driver_name", "?"), d.value("driver_version", "?"), d.value("driver_info", "?"));
  if (!d.contains("limits")) return;
  const json& l = d["limits"];
  fmt::print(out,
             "         subgroup {} ({}-{}), maxStorageBufferRange {}, maxMemoryAllocationSize {}, shared "
             "memory {} KiB\n",
             l.value("subgroup_size", 0), l.value("min_subgroup_size", 0), l.value("max_subgroup_size", 0),
             mib(l.value("max_storage_buffer_range", json(0))),
             mib(l.value("max_memory_allocation_size", json(0))),
             l.value("max_compute_shared_memory", 0) / 1024);
}

void print_roofs(const json& r, std::FILE* out) {
  fmt::print(out, "\nroofs (measured in this run)\n");
  fmt::print(out, "  Vulkan buffer copy   {:10.2f} GB/s\n", r["gpu_copy_gbps"].get<double>());
  fmt::print(out, "  shader fp32 FMA      {:10.2f} GFLOP/s\n", r["gpu_fp32_gflops"].get<double>());
  fmt::print(out, "  host memory read     {:10.2f} GB/s{}\n", r["host_read_gbps"].get<double>(),
             r.value("cpu_device", false) ? "   (a CPU device reads this memory)" : "");
  fmt::print(out, "  host memcpy          {:10.2f} GB/s\n", r["host_memcpy_gbps"].get<double>());
}

void print_kernels(const json& k, std::FILE* out) {
  const json& mv = k["matvec_shape"];
  const json& mm = k["matmul_shape"];
  fmt::print(out, "\nkernels (matvec {}x{}: decode; matmul {}x{}x{}: prefill)\n", mv[0].get<int>(),
             mv[1].get<int>(), mm[0].get<int>(), mm[1].get<int>(), mm[2].get<int>());
  fmt::print(out, "  {:<8} {:>12} {:>13} {:>15} {:>12}\n", "format", "matvec GB/s", "of copy roof",
             "matmul GFLOP/s", "of FMA peak");
  for (const auto& r : k["rows"])
    fmt::print(out, "  {:<8} {:>12.2f} {:>13} {:>15.2f} {:>12}\n", r["format"].get<std::string>(),
               r["matvec_gbps"].get<double>(), percent(r, "matvec_fraction_of_copy_roof"),
               r["matmul_gflops"].get<double>(), percent(r, "matmul_fraction_of_fma_peak"));
}

std::string engine_label(const json& row) {
  if (row.value("engine", "") == "lagvk") return "lagvk (Vulkan)";
  if (row.value("backend", "") == "vulkan") return "llama.cpp (Vulkan)";
  return fmt::format("llama.cpp (CPU, {} threads)", row.value("threads", 0));
}

void print_model_rows(const json& rows, std::FILE* out) {
  for (const auto& r : rows) {
    if (r.contains("error")) {
      fmt::print(out, "  {:<28} {}\n", engine_label(r), r["error"].get<std::string>());
      continue;
    }
    const std::string test = fmt::format("{}{}", r["test"].get<std::string>(), r["tokens"].get<int>());
    const std::string gbps = r.contains("gbps") ? fmt::format("{:.2f}", r["gbps"].get<double>()) : "";
    fmt::print(out, "  {:<28} {:>7} {:>7} {:>10.2f} {:>9} {:>13}\n", engine_label(r), test,
               r["depth"].get<int>(), r["tps"].get<double>(), gbps, percent(r, "fraction_of_copy_roof"));
  }
}

void print_model(const json& run, std::FILE* out) {
  fmt::print(out, "\nmodel   ");
  if (run.contains("model")) {
    const json& m = run["model"];
    fmt::print(out,
               "{} ({} layers, dim {}, {}/{} heads, vocab {}; {:.0f} MB of weights, loaded in {:.0f} ms)\n",
               m["path"].get<std::string>(), m["layers"].get<int>(), m["dim"].get<int>(),
               m["heads"].get<int>(), m["kv_heads"].get<int>(), m["vocab"].get<int>(),
               m["weights_bytes"].get<double>() * 1e-6, m["load_ms"].get<double>());
  } else {
    fmt::print(out, "(llama.cpp only)\n");
  }
  fmt::print(out, "  {:<28} {:>7} {:>7} {:>10} {:>9} {:>13}\n", "engine", "test", "depth", "tok/s", "GB/s",
             "of copy roof");
  if (run.contains("model")) print_model_rows(run["model"]["rows"], out);
  if (run.contains("peer")) {
    print_model_rows(run["peer"]["rows"], out);
    if (run["peer"].contains("note")) fmt::print(out, "  {}\n", run["peer"]["note"].get<std::string>());
  }
}

void print_lag(const json& lag, std::FILE* out) {
  fmt::print(out, "\nLAG time to first token (k logs of T tokens before a {}-token question)\n",
             lag["question_tokens"].get<int>());
  fmt::print(out, "  {:>6} {:>4} {:>10} {:>10} {:>10} {:>9}\n", "T", "k", "kv ms", "text ms", "none ms",
             "text/kv");
  std::map<std::pair<int, int>, std::map<std::string, double>> by;
  for (const auto& r : lag["rows"])
    by[{r["tokens_per_log"].get<int>(), r["k"].get<int>()}][r["mode"].get<std::string>()] =
        r["ttft_ms"].get<double>();
  for (auto& [key, ms] : by)
    fmt::print(out, "  {:>6} {:>4} {:>10.1f} {:>10.1f} {:>10.1f} {:>8.1f}x\n", key.first, key.second,
               ms["kv"], ms["text"], ms["none"], ms["kv"] > 0 ? ms["text"] / ms["kv"] : 0.0);
}

}  // namespace

void print_bench_table(const json& run, std::FILE* out) {
  fmt::print(out, "lagvk bench ({}), lagvk {} commit {}, {}\n", run.value("mode", "?"),
             run.value("version", "?"), run.value("commit", "?"), run.value("date", "?"));
  if (run.contains("device")) print_device(run["device"], out);
  if (run.contains("roofs")) print_roofs(run["roofs"], out);
  if (run.contains("kernels")) print_kernels(run["kernels"], out);
  if (run.contains("model") || run.contains("peer")) print_model(run, out);
  if (run.contains("lag")) print_lag(run["lag"], out);
}

}  // namespace lagvk::cli
