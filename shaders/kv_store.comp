#version 450
#extension GL_GOOGLE_include_directive : require
// Writes the K and V of new tokens (fp32, tokens x kv_heads x head_dim, with a token stride so slices of
// a fused QKV buffer work) into the paged fp16 cache at entries kv_start + t, through the block table.
// With rot_dims > 0 the keys get their rotary position embedding on the way, as rope.comp would have
// applied it in place first (the same angle and products), so a decoder layer needs no separate RoPE
// dispatch for its keys and no barrier between that and the store; 0 stores them as given (encoders).
#include "lagvk.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_KV_STORE)

/// Element e (of kv_heads x head_dim) of token t's new key, rotated in its first rot_dims dimensions.
float new_key(uint t, uint e) {
  const uint row = t * p.k_stride;
  const uint d = e % p.head_dim;
  if (d >= p.rot_dims) return p.k_new.v[row + e];  // the unrotated tail, or no rotation at all
  // Pair i holds d; `second`: d is the pair's second element (rope_pair's order).
  const uint half_rot = p.rot_dims / 2;
  const bool second = p.mode == 0 ? (d & 1u) != 0 : d >= half_rot;
  const uint i = p.mode == 0 ? d / 2 : (second ? d - half_rot : d);
  const uvec2 pair = rope_pair(i, p.rot_dims, p.mode);
  const float theta = rope_theta(float(p.positions.v[t]), i, p.rot_dims, p.freq_base, p.freq_scale,
                                 p.has_factors != 0, p.factors);
  const float c = cos(theta), s = sin(theta);
  const uint head = row + e - d;
  const float x0 = p.k_new.v[head + pair.x], x1 = p.k_new.v[head + pair.y];
  return second ? x0 * s + x1 * c : x0 * c - x1 * s;
}

void main() {
  const uint row = p.kv_heads * p.head_dim;
  const uint id = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (id >= p.tokens * row) return;
  const uint t = id / row, e = id % row;
  const uint j = p.kv_start + t;
  const uint page = uint(p.table.v[j / p.page_tokens]);
  const uint dst = (page * p.page_tokens + j % p.page_tokens) * row + e;
  p.k_cache.v[dst] = float16_t(new_key(t, e));
  p.v_cache.v[dst] = float16_t(p.v_new.v[t * p.v_stride + e]);
}
