#version 450
#extension GL_GOOGLE_include_directive : require
// y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias, one workgroup per row (may run in place:
// y == x). BERT's LayerNorm; the variance is the mean of squared deviations, computed in a second pass
// over the row so that a large mean does not cancel it.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_LAYERNORM)

shared float partial[64];

// The sum of v over the workgroup (every invocation gets it).
float workgroup_sum(float v) {
  v = subgroupAdd(v);
  if (subgroupElect()) partial[gl_SubgroupID] = v;
  barrier();
  float total = 0.0;
  for (uint g = 0; g < gl_NumSubgroups; ++g) total += partial[g];
  barrier();  // partial is reused by the next sum
  return total;
}

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint base = row * p.dim;
  float s = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) s += p.x.v[base + i];
  const float mean = workgroup_sum(s) / float(p.dim);
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) {
    const float d = p.x.v[base + i] - mean;
    ss = fma(d, d, ss);
  }
  const float inv = inversesqrt(workgroup_sum(ss) / float(p.dim) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x)
    p.y.v[base + i] = (p.x.v[base + i] - mean) * inv * p.weight.v[i] + p.bias.v[i];
}
