#pragma once
// llama.cpp as a benchmark peer, through the node script tools/peer/llama_ref.mjs (installed by
// scripts/setup.sh). Absent peer: nullopt, so benchmarks still run and say so.
#include <optional>
#include <string>

namespace lagvk::bench {

/// Which llama.cpp backend runs: its Vulkan backend on one Vulkan device, or its native CPU backend (the
/// CPU code of node-llama-cpp's Vulkan build, compiled for this CPU, with no Vulkan device visible).
enum class PeerBackend { vulkan, native_cpu };

struct PeerRequest {
  std::string model;
  int prompt_tokens = 128, gen_tokens = 64, reps = 2;
  PeerBackend backend = PeerBackend::vulkan;
  int vulkan_device = 0;  ///< GGML_VK_VISIBLE_DEVICES for the Vulkan backend: the device lagvk measured
};

struct PeerSpeed {
  double prefill_tps = 0, decode_tps = 0, load_ms = 0;
  std::string backend;  ///< "vulkan on llvmpipe (...), llama.cpp v0.5.0"
  std::string device;
  std::string llama_cpp;
  int threads = 0;  ///< CPU threads llama.cpp used (LAGVK_PEER_THREADS, else every core up to 8)
};

/// Whether tools/peer has node-llama-cpp installed.
[[nodiscard]] bool llama_peer_installed();

/// Runs the peer's bench command; nullopt when it is not installed or fails (the reason on stderr).
[[nodiscard]] std::optional<PeerSpeed> run_llama_peer_bench(const PeerRequest& request);

}  // namespace lagvk::bench
