#version 450
#extension GL_GOOGLE_include_directive : require
// Moves keys and values between a sequence's paged cache and a packed fp16 buffer (entries x kv_heads x
// head_dim, the layout of a stored log page), changing the keys' rotary position on the way, in fp32:
//   EXPORT: packed[j] = cache entry entries[j], keys un-rotated from positions[j] (logs are stored
//           without RoPE);
//   IMPORT: cache entry entries[j] = packed[j], keys rotated to positions[j] (splicing a log).
// One invocation per (entry, head, pair); pairs past rot_dims/2 are copied unrotated.
#include "lagvk.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_KV_TRANSFER)

void main() {
  const uint pairs = p.head_dim / 2;
  const uint id = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (id >= p.count * p.kv_heads * pairs) return;
  const uint i = id % pairs;
  const uint h = (id / pairs) % p.kv_heads;
  const uint j = id / (pairs * p.kv_heads);
  const uint entry = uint(p.entries.v[j]);
  const uint page = uint(p.table.v[entry / p.page_tokens]);
  const uint cache_base = ((page * p.page_tokens + entry % p.page_tokens) * p.kv_heads + h) * p.head_dim;
  const uint packed_base = (j * p.kv_heads + h) * p.head_dim;
  const uvec2 e = rope_pair(i, p.rot_dims, p.mode);
  float c = 1.0, s = 0.0;
  if (i < p.rot_dims / 2) {
    float theta = rope_theta(float(p.positions.v[j]), i, p.rot_dims, p.freq_base, p.freq_scale, p.has_factors != 0,
                             p.factors);
#if defined(EXPORT)
    theta = -theta;
#endif
    c = cos(theta);
    s = sin(theta);
  }
#if defined(EXPORT)
  const float x0 = float(p.k_cache.v[cache_base + e.x]), x1 = float(p.k_cache.v[cache_base + e.y]);
  p.k_packed.v[packed_base + e.x] = float16_t(x0 * c - x1 * s);
  p.k_packed.v[packed_base + e.y] = float16_t(x0 * s + x1 * c);
  p.v_packed.v[packed_base + e.x] = p.v_cache.v[cache_base + e.x];
  p.v_packed.v[packed_base + e.y] = p.v_cache.v[cache_base + e.y];
#elif defined(IMPORT)
  const float x0 = float(p.k_packed.v[packed_base + e.x]), x1 = float(p.k_packed.v[packed_base + e.y]);
  p.k_cache.v[cache_base + e.x] = float16_t(x0 * c - x1 * s);
  p.k_cache.v[cache_base + e.y] = float16_t(x0 * s + x1 * c);
  p.v_cache.v[cache_base + e.x] = p.v_packed.v[packed_base + e.x];
  p.v_cache.v[cache_base + e.y] = p.v_packed.v[packed_base + e.y];
#else
#error "define EXPORT or IMPORT"
#endif
}
