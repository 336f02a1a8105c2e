#version 450
#extension GL_GOOGLE_include_directive : require
// y = x / sqrt(mean(x^2) + eps) * weight, one workgroup per row (may run in place: y == x).
// Also used per head (rows = tokens * heads, dim = head_dim) for qwen3's q/k norms.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_RMSNORM)

shared float partial[64];

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint base = row * p.dim;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) {
    const float v = p.x.v[base + i];
    ss = fma(v, v, ss);
  }
  ss = subgroupAdd(ss);
  if (subgroupElect()) partial[gl_SubgroupID] = ss;
  barrier();
  float total = 0.0;
  for (uint g = 0; g < gl_NumSubgroups; ++g) total += partial[g];
  const float inv = inversesqrt(total / float(p.dim) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x)
    p.y.v[base + i] = p.x.v[base + i] * inv * p.weight.v[i];
}
