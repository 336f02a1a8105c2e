#include "bench/support/peer.hpp"

// Filled in once the peer harness (tools/peer) lands.
namespace lagvk::bench {

std::optional<PeerSpeed> run_llama_peer_bench(const std::string&, int, int) {
  return std::nullopt;
}

}  // namespace lagvk::bench
