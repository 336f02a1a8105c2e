#include "bench/support/peer.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lagvk::bench {

namespace {

std::filesystem::path peer_script() {
  // bench binaries live in <build>/bin; the sources are found through the compile-time definition.
  return std::filesystem::path(LAGVK_SOURCE_DIR) / "tools" / "peer" / "llama_ref.mjs";
}

}  // namespace

std::optional<PeerSpeed> run_llama_peer_bench(const std::string& model, int prompt_tokens, int gen_tokens) {
  const auto script = peer_script();
  if (!std::filesystem::exists(script) ||
      !std::filesystem::exists(script.parent_path() / "node_modules" / "node-llama-cpp"))
    return std::nullopt;
  const std::string cmd = fmt::format(
      "node '{}' bench --model '{}' --gpu vulkan --prompt-tokens {} --gen-tokens {} "
      "--reps 2 2>/dev/null",
      script.string(), model, prompt_tokens, gen_tokens);
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
  return PeerSpeed{j.value("prefill_tps", 0.0), j.value("decode_tps", 0.0), j.value("load_ms", 0.0),
                   j.value("backend", std::string("?")) + " on " + j.value("device", std::string("?")) +
                       ", llama.cpp " + j.value("llama_cpp", std::string("?"))};
}

}  // namespace lagvk::bench
