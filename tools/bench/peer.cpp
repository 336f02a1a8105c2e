#include "tools/bench/peer.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lagvk::bench {

namespace {

std::filesystem::path peer_script() {
  // The peer lives in the source tree (tools/peer, set up by scripts/setup_peer.sh), found through the
  // compile-time definition wherever the benchmark binary is.
  return std::filesystem::path(LAGVK_SOURCE_DIR) / "tools" / "peer" / "llama_ref.mjs";
}

}  // namespace

bool llama_peer_installed() {
  const auto script = peer_script();
  return std::filesystem::exists(script) &&
         std::filesystem::exists(script.parent_path() / "node_modules" / "node-llama-cpp");
}

std::optional<PeerSpeed> run_llama_peer_bench(const PeerRequest& r) {
  if (!llama_peer_installed()) return std::nullopt;
  const bool vulkan = r.backend == PeerBackend::vulkan;
  // ggml-vulkan lists CPU-type devices (lavapipe) only when GGML_VK_VISIBLE_DEVICES names them: naming
  // the device lagvk measured puts both engines on the same one.
  const std::string env = vulkan ? fmt::format("GGML_VK_VISIBLE_DEVICES={} ", r.vulkan_device) : "";
  const std::string cmd = fmt::format(
      "{}node '{}' bench --model '{}' --gpu {} --prompt-tokens {} --gen-tokens {} --reps {} 2>/dev/null", env,
      peer_script().string(), r.model, vulkan ? "vulkan" : "native", r.prompt_tokens, r.gen_tokens, r.reps);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  if (status != 0) {
    std::fprintf(stderr, "llama.cpp peer failed (exit %d): %s\n", WEXITSTATUS(status), out.c_str());
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("decode_tps")) return std::nullopt;
  PeerSpeed s;
  s.prefill_tps = j.value("prefill_tps", 0.0);
  s.decode_tps = j.value("decode_tps", 0.0);
  s.load_ms = j.value("load_ms", 0.0);
  s.device = j.value("device", std::string("?"));
  s.llama_cpp = j.value("llama_cpp", std::string("?"));
  s.threads = j.value("threads", 0);
  s.backend = j.value("backend", std::string("?")) + " on " + s.device + ", llama.cpp " + s.llama_cpp;
  return s;
}

}  // namespace lagvk::bench
