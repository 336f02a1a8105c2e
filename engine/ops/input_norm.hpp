#pragma once
// An RMS norm a projection applies to its input in its prologue (matrix-vector only): y = W (x / rms(x) * g)
// with rms(x) = sqrt(mean(x^2) + eps), what ops::rmsnorm followed by the projection computes, in one
// dispatch. A decode step's block input norms and final norm take no kernel of their own this way.
#include "engine/vk/buffer.hpp"

namespace lagvk::ops {

struct InputNorm {
  vk::BufferView weight;  ///< g: K fp32, the norm's weight as ops::rmsnorm reads it
  float eps = 0.0f;
};

}  // namespace lagvk::ops
