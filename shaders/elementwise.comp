#version 450
#extension GL_GOOGLE_include_directive : require
// Elementwise operations on fp32 vectors, one invocation per element. Variants:
//   OP_ADD:    out[i] = a[i] + b[i % b_period]   (b_period = n for a plain add; the row length for a bias)
//   OP_SWIGLU: out[i] = silu(a[i]) * b[i]        (a = gate, b = up)
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
#else
#error "define OP_ADD or OP_SWIGLU"
#endif
}
