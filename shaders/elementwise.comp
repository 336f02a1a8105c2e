#version 450
#extension GL_GOOGLE_include_directive : require
// Elementwise operations on fp32 vectors, one invocation per element. Variants:
//   OP_ADD:    out[i] = a[i] + b[i % b_period]   (b_period = n for a plain add; the row length for a bias)
//   OP_SWIGLU: out[i] = silu(a[i]) * b[i]        (a = gate, b = up)
//   OP_GELU:   out[i] = gelu(a[i])               (b unused; the tanh approximation llama.cpp's ggml_gelu
//   uses)
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_ELEMENTWISE)

void main() {
  const uint i = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
#if defined(OP_ADD)
  p.out_.v[i] = p.a.v[i] + p.b.v[i % p.b_period];
#elif defined(OP_SWIGLU)
  const float g = p.a.v[i];
  p.out_.v[i] = g / (1.0 + exp(-g)) * p.b.v[i];
#elif defined(OP_GELU)
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with tanh written through exp of a non-positive
  // argument so that large |x| neither overflows nor loses the sign.
  const float x = p.a.v[i];
  const float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  const float e = exp(-2.0 * abs(u));
  const float t = sign(u) * (1.0 - e) / (1.0 + e);
  p.out_.v[i] = 0.5 * x * (1.0 + t);
#else
#error "define OP_ADD, OP_SWIGLU or OP_GELU"
#endif
}
