#pragma once
// llama.cpp as a benchmark peer, through the node script tools/peer/llama_ref.mjs (installed by
// scripts/setup.sh). Absent peer: nullopt, so benchmarks still run and say so.
#include <optional>
#include <string>

namespace lagvk::bench {

struct PeerSpeed {
  double prefill_tps = 0, decode_tps = 0, load_ms = 0;
  std::string backend;
};

[[nodiscard]] std::optional<PeerSpeed> run_llama_peer_bench(const std::string& model, int prompt_tokens,
                                                            int gen_tokens);

}  // namespace lagvk::bench
