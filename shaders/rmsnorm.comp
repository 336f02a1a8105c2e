#version 450
#extension GL_GOOGLE_include_directive : require
// y = x / sqrt(mean(x^2) + eps) * weight, one workgroup per row (may run in place: y == x).
// Also used per head (rows = tokens * heads, dim = head_dim) for qwen3's q/k norms.
// TEXEL_READS variants (CPU devices: see Context::texel_binding) are one subgroup per workgroup, with no
// shared memory or barrier, and read x and weight as 32-bit texels (bindings 0 and 1), ignoring those
// addresses; y is still written through its address.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_RMSNORM)

#if defined(TEXEL_READS)
layout(set = 0, binding = 0) uniform usamplerBuffer texel_x;
layout(set = 0, binding = 1) uniform usamplerBuffer texel_weight;
float x_at(uint i) { return uintBitsToFloat(texelFetch(texel_x, int(i)).x); }
float weight_at(uint i) { return uintBitsToFloat(texelFetch(texel_weight, int(i)).x); }
#else
shared float partial[64];
float x_at(uint i) { return p.x.v[i]; }
float weight_at(uint i) { return p.weight.v[i]; }
#endif

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint base = row * p.dim;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) {
    const float v = x_at(base + i);
    ss = fma(v, v, ss);
  }
  ss = subgroupAdd(ss);
#if defined(TEXEL_READS)
  const float total = ss;
#else
  if (subgroupElect()) partial[gl_SubgroupID] = ss;
  barrier();
  float total = 0.0;
  for (uint g = 0; g < gl_NumSubgroups; ++g) total += partial[g];
#endif
  const float inv = inversesqrt(total / float(p.dim) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x)
    p.y.v[base + i] = x_at(base + i) * inv * weight_at(i);
}
