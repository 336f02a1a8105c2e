#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for decode: W is N x K weights in any weight format, x is K fp32, y is N fp32.
// Each workgroup computes ROWS consecutive rows; its threads stride over K and reduce with subgroup
// operations, then across subgroups through shared memory (subgroup size is whatever the device has).
#include "lagvk.glsl"
#include "weights.glsl"

layout(constant_id = 0) const uint ROWS = 1;
layout(local_size_x_id = 1) in;

layout(push_constant) uniform Push {
  WeightPtr w;
  F32Ptr x;
  F32Ptr y;
  uint N, K;
} p;

shared float partial[64][4];  // [subgroup][row]; up to 64 subgroups, ROWS <= 4

void main() {
  const uint row0 = flat_group_id() * ROWS;
  if (row0 >= p.N) return;
  const uint tid = gl_LocalInvocationID.x;
  float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
  for (uint k = tid; k < p.K; k += gl_WorkGroupSize.x) {
    const float xv = p.x.v[k];
    for (uint r = 0; r < ROWS; ++r)
      if (row0 + r < p.N) acc[r] = fma(weight_at(p.w, row0 + r, p.K, k), xv, acc[r]);
  }
  for (uint r = 0; r < ROWS; ++r) {
    const float s = subgroupAdd(acc[r]);
    if (subgroupElect()) partial[gl_SubgroupID][r] = s;
  }
  barrier();
  if (tid < ROWS && row0 + tid < p.N) {
    float s = 0.0;
    for (uint g = 0; g < gl_NumSubgroups; ++g) s += partial[g][tid];
    p.y.v[row0 + tid] = s;
  }
}
