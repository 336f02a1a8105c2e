#pragma once
// The benchmark models: random llama models written once to /tmp and reused. The reference shape is the
// issue's (about 0.5 GB in f16: 16 layers, dim 1024, 16 heads, 4 KV heads, ff 2816, vocab 32000); the
// small and tiny shapes keep lagvk bench --quick and the tests short.
#include <string>

namespace lagvk::bench {

enum class ModelSize { reference, small, tiny };

/// Path of the model of `type` ("f16", "q8_0", "q4_0", ...) and size, written on first use (a note on
/// stderr says so). Throws lagvk::Error for a type without GPU kernels.
[[nodiscard]] std::string reference_model(const std::string& type, ModelSize size = ModelSize::reference);

}  // namespace lagvk::bench
