#pragma once
// The benchmark models: random llama models of the reference shape (about 0.5 GB in f16:
// 16 layers, dim 1024, 16 heads, 4 KV heads, ff 2816, vocab 32000), written once to /tmp and reused.
#include <string>

namespace lagvk::bench {

/// Path of the reference model of `type` ("f16", "q8_0", "q4_0", ...), written on first use.
[[nodiscard]] std::string reference_model(const std::string& type);

}  // namespace lagvk::bench
