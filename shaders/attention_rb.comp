#version 450
#extension GL_GOOGLE_include_directive : require
// Register-blocked flash attention for devices where shared memory and barriers cost more than registers
// (CPU devices such as lavapipe; attention_flash.comp suits GPUs). Same semantics, same push constants and
// the same split-K partial states as attention_flash.comp.
//
// A workgroup is one subgroup and owns one kv head and BR query rows (token, head of the GQA group), which
// every lane reads alike. Keys go by KEYS per lane per step: a lane scores its keys against the
// BR rows, the rows' running maxima are subgroup maxima (so every lane rescales the same way), and each
// lane adds p * V of its own keys into its own BR x head_dim accumulator. The lanes' accumulators and sums
// are added once, at the end. No shared memory, no barrier.
//
// TEXEL_KV variants read K and V as f16 texels of four (bindings 0 and 1) and the block table and fill
// as 32-bit words (bindings 2 and 3) through texel views, and ignore those addresses in the push
// constants: on devices that load storage memory lane by lane but gather texels (Context::texel_binding).
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BR = 4;   // query rows per workgroup
layout(constant_id = 2) const uint HD = 64;  // head dimension, a multiple of 4
layout(constant_id = 3) const uint KEYS = 1;  // keys per lane per step

const uint C4 = HD / 4;
const float NEG_INF = -1.0 / 0.0;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_FLASH_ATTENTION)

#if defined(TEXEL_KV)
layout(set = 0, binding = 0) uniform samplerBuffer kv_keys;
layout(set = 0, binding = 1) uniform samplerBuffer kv_values;
layout(set = 0, binding = 2) uniform usamplerBuffer kv_table;
layout(set = 0, binding = 3) uniform usamplerBuffer kv_fill;
vec4 key4(uint i) { return texelFetch(kv_keys, int(i)); }
vec4 value4(uint i) { return texelFetch(kv_values, int(i)); }
uint table_at(uint i) { return texelFetch(kv_table, int(i)).x; }
uint fill_at(uint i) { return texelFetch(kv_fill, int(i)).x; }
#else
vec4 key4(uint i) { return vec4(F16x4Ptr(p.k).v[i]); }
vec4 value4(uint i) { return vec4(F16x4Ptr(p.v).v[i]); }
uint table_at(uint i) { return uint(p.table.v[i]); }
uint fill_at(uint i) { return uint(p.fill.v[i]); }
#endif

uint first_visible(uint t) {
  const uint self = p.kv_start + t;
  return (p.window > 0 && self + 1 > p.window) ? self + 1 - p.window : 0;
}
uint end_visible(uint t) {
#if defined(BIDIRECTIONAL)
  return p.kv_start + p.tokens;
#else
  return p.kv_start + t + 1;
#endif
}

void main() {
  const uint lane = gl_SubgroupInvocationID;
  const uint width = gl_SubgroupSize;
  const uint kvh = gl_WorkGroupID.y;
  const uint split = gl_WorkGroupID.z;
  const uint group = p.q_heads / p.kv_heads;
  const uint row0 = gl_WorkGroupID.x * BR;
  const uint rows = p.tokens * group;

  uint row_lo[BR], row_hi[BR], q_row[BR];
  for (uint r = 0; r < BR; ++r) {
    const uint row = row0 + r;
    const bool real = row < rows;
    const uint t = row / group, h = kvh * group + row % group;
    row_lo[r] = real ? first_visible(t) : 0;
    row_hi[r] = real ? end_visible(t) : 0;  // a row past the end sees nothing
    q_row[r] = real ? (t * p.q_heads + h) * C4 : 0;
  }
  const uint last_row = min(row0 + BR, rows) - 1;
  const uint tile_lo = first_visible(row0 / group), tile_hi = end_visible(last_row / group);
  const uint per_split = (tile_hi - tile_lo + p.splits - 1) / p.splits;
  const uint lo = min(tile_hi, tile_lo + split * per_split);
  const uint hi = min(tile_hi, lo + per_split);

  float m[BR], l[BR];  // running max (the same in every lane) and this lane's running sum, per row
  vec4 acc[BR * C4];
  for (uint r = 0; r < BR; ++r) {
    m[r] = NEG_INF;
    l[r] = 0.0;
  }
  for (uint i = 0; i < BR * C4; ++i) acc[i] = vec4(0.0);
  // The rows' queries, loaded once: every lane reads them alike, but some drivers (llvmpipe) load
  // through a buffer address lane by lane, so reading them for every key step cost more than the keys.
  Vec4Ptr q4 = Vec4Ptr(p.q);
  vec4 qv[BR * C4];
  for (uint r = 0; r < BR; ++r)
    for (uint c4 = 0; c4 < C4; ++c4) qv[r * C4 + c4] = q4.v[q_row[r] + c4];

  // Straight-line code around the accumulators (no branch in the loop body): a lane past the range or on a
  // hole reads the range's last entry (its own page slot: readable memory) and selects it away. A step
  // takes KEYS keys per lane (lanes side by side within each), so the rows' maxima, their rescaling and
  // its exponential are paid once per KEYS keys.
  for (uint j0 = lo; j0 < hi; j0 += width * KEYS) {
    uint kb[KEYS];
    bool present[KEYS];
    uint jk[KEYS];
    for (uint u = 0; u < KEYS; ++u) {
      const uint j = j0 + u * width + lane, jr = min(j, hi - 1);
      jk[u] = j;
      present[u] = j < hi && j % p.page_tokens < fill_at(jr / p.page_tokens);
      const uint page = table_at(jr / p.page_tokens);
      kb[u] = (((page * p.page_tokens + jr % p.page_tokens) * p.kv_heads + kvh) * HD) / 4;
    }
    float s[BR * KEYS];
    for (uint i = 0; i < BR * KEYS; ++i) s[i] = 0.0;
    for (uint u = 0; u < KEYS; ++u)
      for (uint c4 = 0; c4 < C4; ++c4) {
        const vec4 kv = key4(kb[u] + c4);
        for (uint r = 0; r < BR; ++r) s[r * KEYS + u] += dot(qv[r * C4 + c4], kv);
      }
    float pr[BR * KEYS];
    for (uint r = 0; r < BR; ++r) {
      float top = NEG_INF;
      for (uint u = 0; u < KEYS; ++u) {
        float sr = s[r * KEYS + u] * p.scale;
        if (p.softcap > 0.0) sr = p.softcap * stable_tanh(sr / p.softcap);
        sr = (present[u] && jk[u] >= row_lo[r] && jk[u] < row_hi[r]) ? sr : NEG_INF;
        s[r * KEYS + u] = sr;
        top = max(top, sr);
      }
      const float mx = max(m[r], subgroupMax(top));
      // Until a row has seen a key its max stays -inf and its state zero: no NaN from -inf - -inf.
      const float corr = mx == NEG_INF ? 1.0 : exp(m[r] - mx);
      float added = 0.0;
      for (uint u = 0; u < KEYS; ++u) {
        const float sr = s[r * KEYS + u];
        pr[r * KEYS + u] = sr == NEG_INF ? 0.0 : exp(sr - mx);
        added += pr[r * KEYS + u];
      }
      l[r] = l[r] * corr + added;
      m[r] = mx;
      for (uint c4 = 0; c4 < C4; ++c4) acc[r * C4 + c4] *= corr;
    }
    for (uint u = 0; u < KEYS; ++u)
      for (uint c4 = 0; c4 < C4; ++c4) {
        const vec4 vv = present[u] ? value4(kb[u] + c4) : vec4(0.0);
        for (uint r = 0; r < BR; ++r) acc[r * C4 + c4] = fma(vec4(pr[r * KEYS + u]), vv, acc[r * C4 + c4]);
      }
  }

  // Add the lanes' states; lane c4 % width writes column c4 of every row.
  for (uint r = 0; r < BR; ++r) {
    const uint row = row0 + r;
    const float sum = subgroupAdd(l[r]);
    if (row >= rows) break;
    const uint t = row / group, h = kvh * group + row % group;
    const uint out_row = t * p.q_heads + h;
    for (uint c4 = 0; c4 < C4; ++c4) {
      const vec4 a = subgroupAdd(acc[r * C4 + c4]);
      if (c4 % width != lane) continue;
      if (p.splits == 1) {
        const vec4 o = a / sum;
        const uint b = out_row * HD + c4 * 4;
        p.out_.v[b] = o.x;
        p.out_.v[b + 1] = o.y;
        p.out_.v[b + 2] = o.z;
        p.out_.v[b + 3] = o.w;
      } else {
        const uint b = (split * p.tokens * p.q_heads + out_row) * (HD + 2);
        if (c4 == 0) {
          p.partials.v[b] = m[r];
          p.partials.v[b + 1] = sum;
        }
        p.partials.v[b + 2 + c4 * 4] = a.x;
        p.partials.v[b + 3 + c4 * 4] = a.y;
        p.partials.v[b + 4 + c4 * 4] = a.z;
        p.partials.v[b + 5 + c4 * 4] = a.w;
      }
    }
  }
}
