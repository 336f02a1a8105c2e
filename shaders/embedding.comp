#version 450
#extension GL_GOOGLE_include_directive : require
// out[t] = dequantized row ids[t] of the embedding table (rows x dim, any weight format).
// One workgroup per token; ids outside the table produce zeros (the host validates ids first).
#include "lagvk.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_EMBEDDING)

void main() {
  const uint t = flat_group_id();
  if (t >= p.tokens) return;
  const int id = p.ids.v[t];
  for (uint d = gl_LocalInvocationID.x; d < p.dim; d += gl_WorkGroupSize.x)
    p.out_.v[t * p.dim + d] = (id >= 0 && uint(id) < p.rows) ? weight_at(p.table, uint(id), p.dim, d) : 0.0;
}
