#pragma once
// Describes a loaded GGUF Model to the GPU side: its tensors (bytes still in the file's memory map) and
// the forward pass's configuration. Fails clearly for tensor types the GPU kernels do not implement.
#include "engine/forward/gpu_weights.hpp"
#include "engine/model/model.hpp"

namespace lagvk {

/// The GPU weight format of a GGUF tensor type, or an error naming the tensor and its type.
[[nodiscard]] WeightFormat weight_format(GgmlType type, const std::string& tensor);

/// HostWeights viewing `model`'s tensors (valid while the model lives), for sequences of up to `context`
/// tokens (which picks phi3's long or short RoPE factors; 0 means the model's training context).
[[nodiscard]] HostWeights host_weights(const Model& model, std::uint32_t context = 0);

}  // namespace lagvk
