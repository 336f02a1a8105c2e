#version 450
#extension GL_GOOGLE_include_directive : require
// Row-wise softmax of x * scale (rows x cols), one workgroup per row; may run in place.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_SOFTMAX)

shared float partial[64];

float workgroup_reduce(float v, bool is_max) {
  v = is_max ? subgroupMax(v) : subgroupAdd(v);
  barrier();
  if (subgroupElect()) partial[gl_SubgroupID] = v;
  barrier();
  float r = partial[0];
  for (uint g = 1; g < gl_NumSubgroups; ++g) r = is_max ? max(r, partial[g]) : r + partial[g];
  return r;
}

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint base = row * p.cols;
  float m = -1.0 / 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.cols; i += gl_WorkGroupSize.x) m = max(m, p.x.v[base + i] * p.scale);
  m = workgroup_reduce(m, true);
  float s = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.cols; i += gl_WorkGroupSize.x) s += exp(p.x.v[base + i] * p.scale - m);
  s = workgroup_reduce(s, false);
  const float inv = 1.0 / s;
  for (uint i = gl_LocalInvocationID.x; i < p.cols; i += gl_WorkGroupSize.x)
    p.y.v[base + i] = exp(p.x.v[base + i] * p.scale - m) * inv;
}
