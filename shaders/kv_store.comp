#version 450
#extension GL_GOOGLE_include_directive : require
// Writes the K and V of new tokens (fp32, tokens x kv_heads x head_dim, with a token stride so slices of
// a fused QKV buffer work) into the paged fp16 cache at entries kv_start + t, through the block table.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_KV_STORE)

void main() {
  const uint row = p.kv_heads * p.head_dim;
  const uint id = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (id >= p.tokens * row) return;
  const uint t = id / row, e = id % row;
  const uint j = p.kv_start + t;
  const uint page = uint(p.table.v[j / p.page_tokens]);
  const uint dst = (page * p.page_tokens + j % p.page_tokens) * row + e;
  p.k_cache.v[dst] = float16_t(p.k_new.v[t * p.k_stride + e]);
  p.v_cache.v[dst] = float16_t(p.v_new.v[t * p.v_stride + e]);
}
