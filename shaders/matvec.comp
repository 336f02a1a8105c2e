#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for decode: W is N x K weights in any weight format, x is K fp32, y is N fp32.
// Memory-bound: each workgroup computes ROWS consecutive rows, its lanes taking consecutive chunks of
// each row (wide, contiguous loads; see chunk_dot in weights.glsl), then reduce with subgroup adds and,
// when the workgroup holds several subgroups, through shared memory.
#include "lagvk.glsl"
#include "weights.glsl"

layout(constant_id = 0) const uint ROWS = 1;
layout(local_size_x_id = 1) in;

layout(push_constant) uniform Push {
  ChunkPtr w;
  F32Ptr x;
  F32Ptr y;
  uint N, K;
} p;

shared float partial[64][4];  // [subgroup][row]; ROWS <= 4

void main() {
  const uint row0 = flat_group_id() * ROWS;
  if (row0 >= p.N) return;
  const uint tid = gl_LocalInvocationID.x;
  const uint chunks = p.K / CHUNK;
  float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
  for (uint c = tid; c < chunks; c += gl_WorkGroupSize.x)
    for (uint r = 0; r < ROWS; ++r)
      if (row0 + r < p.N) acc[r] += chunk_dot(p.w, row0 + r, p.K, c, p.x);
  if (gl_NumSubgroups == 1) {
    for (uint r = 0; r < ROWS; ++r) {
      const float s = subgroupAdd(acc[r]);
      if (tid == 0 && row0 + r < p.N) p.y.v[row0 + r] = s;
    }
    return;
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
