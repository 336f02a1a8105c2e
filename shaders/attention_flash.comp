#version 450
#extension GL_GOOGLE_include_directive : require
// Flash-attention over a paged fp16 KV cache (the same semantics as attention.comp: causal or, with
// BIDIRECTIONAL, every query sees every entry; block tables with partly filled pages, whose holes no query
// attends to; sliding window; soft cap; kv_start > 0), fp32 accumulation.
//
// A workgroup owns one kv head and a tile of BR query rows; a row is one (token, query head of that kv
// head's group) pair, rows ordered token-major, so the heads of a GQA group and consecutive tokens share
// every K and V load. Keys go by in tiles of BC = workgroup-size entries with an online softmax:
//   1. scores: thread c takes key c of the tile and computes its score against all BR rows (one K row
//      read, BR dot products with the rows in shared memory);
//   2. each row's running max (one thread per row), then every thread turns its key's scores into
//      probabilities, then each row's sum;
//   3. out += P V: a thread owns 4 consecutive dimensions of some rows and reads each V row once.
// With splits > 1 the visible keys of each tile of rows are cut into `splits` ranges, one per workgroup
// (gl_WorkGroupID.z): each writes its unnormalised partial state (max, sum, accumulator) to `partials`,
// and attention_combine.comp merges them (split-K, for decoding long contexts with few rows).
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BR = 8;   // query rows per workgroup
layout(constant_id = 2) const uint HD = 64;  // head dimension, a multiple of 4

const uint WG = gl_WorkGroupSize.x;
const uint BC = gl_WorkGroupSize.x;                 // keys per tile: one per thread
const uint C4 = HD / 4;                             // vec4 columns of a row
const uint RG = C4 >= WG ? 1 : WG / C4;             // row groups of the P V phase
const uint RPT = (BR + RG - 1) / RG;                // rows per thread in the P V phase
const uint CPT = (C4 + WG - 1) / WG;                // vec4 columns per thread in the P V phase
const float NEG_INF = -1.0 / 0.0;
const uint NO_KEY = 0xffffffffu;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_FLASH_ATTENTION)

shared vec4 q_sh[BR * C4];     // the tile's query rows, pre-scaled
shared float p_sh[BR * BC];    // scores, then probabilities, of the current key tile
shared uint key_sh[BC];        // each key's offset in the pools in vec4s (NO_KEY: not visible to any row)
shared float corr_sh[BR];      // how much each row's accumulator shrinks for this tile's new max
shared float max_sh[BR];       // each row's running max after this tile
shared uint lo_sh[BR], hi_sh[BR];  // the entries [lo, hi) each row sees (hi = 0 for a row past the end)

uint key_offset4(uint j, uint kvh) {
  const uint page = uint(p.table.v[j / p.page_tokens]);
  return (((page * p.page_tokens + j % p.page_tokens) * p.kv_heads + kvh) * HD) / 4;
}

// The entries [first, visible) query token t sees.
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
  const uint tid = gl_LocalInvocationID.x;
  const uint kvh = gl_WorkGroupID.y;
  const uint split = gl_WorkGroupID.z;
  const uint group = p.q_heads / p.kv_heads;
  const uint row0 = gl_WorkGroupID.x * BR;  // first row of the tile within this kv head's rows
  const uint rows = p.tokens * group;

  // Rows and their visible ranges.
  for (uint e = tid; e < BR * C4; e += WG) {
    const uint r = e / C4, c4 = e % C4, row = row0 + r;
    vec4 qv = vec4(0.0);
    if (row < rows) {
      const uint t = row / group, h = kvh * group + row % group;
      const uint b = (t * p.q_heads + h) * HD + c4 * 4;
      qv = vec4(p.q.v[b], p.q.v[b + 1], p.q.v[b + 2], p.q.v[b + 3]) * p.scale;
    }
    q_sh[e] = qv;
  }
  for (uint r = tid; r < BR; r += WG) {
    const uint row = row0 + r;
    lo_sh[r] = row < rows ? first_visible(row / group) : 0;
    hi_sh[r] = row < rows ? end_visible(row / group) : 0;
  }
  // The keys any row of the tile sees, and this workgroup's share of them.
  const uint last_row = min(row0 + BR, rows) - 1;
  const uint tile_lo = first_visible(row0 / group), tile_hi = end_visible(last_row / group);
  const uint per_split = (tile_hi - tile_lo + p.splits - 1) / p.splits;
  const uint lo = min(tile_hi, tile_lo + split * per_split);
  const uint hi = min(tile_hi, lo + per_split);
  barrier();

  float m = NEG_INF, l = 0.0;  // the running max and sum of row tid (tid < BR)
  vec4 acc[RPT * CPT];
  for (uint i = 0; i < RPT * CPT; ++i) acc[i] = vec4(0.0);
  const uint rg = C4 >= WG ? 0 : tid / C4;
  const uint col = C4 >= WG ? tid : tid % C4;
  F16x4Ptr k4 = F16x4Ptr(p.k), v4 = F16x4Ptr(p.v);

  for (uint j0 = lo; j0 < hi; j0 += BC) {
    // 1. Scores of key j against every row.
    const uint j = j0 + tid;
    float s[BR];
    for (uint r = 0; r < BR; ++r) s[r] = 0.0;
    const bool present = j < hi && j % p.page_tokens < uint(p.fill.v[j / p.page_tokens]);
    uint kb = NO_KEY;
    if (present) {
      kb = key_offset4(j, kvh);
      for (uint c4 = 0; c4 < C4; ++c4) {
        const vec4 kv = vec4(k4.v[kb + c4]);
        for (uint r = 0; r < BR; ++r) s[r] = fma(q_sh[r * C4 + c4].x, kv.x, s[r]);
        for (uint r = 0; r < BR; ++r) s[r] = fma(q_sh[r * C4 + c4].y, kv.y, s[r]);
        for (uint r = 0; r < BR; ++r) s[r] = fma(q_sh[r * C4 + c4].z, kv.z, s[r]);
        for (uint r = 0; r < BR; ++r) s[r] = fma(q_sh[r * C4 + c4].w, kv.w, s[r]);
      }
    }
    key_sh[tid] = kb;
    for (uint r = 0; r < BR; ++r) {
      float sr = s[r];
      if (p.softcap > 0.0) sr = p.softcap * stable_tanh(sr / p.softcap);
      s[r] = (present && j >= lo_sh[r] && j < hi_sh[r]) ? sr : NEG_INF;
      p_sh[r * BC + tid] = s[r];
    }
    barrier();

    // 2. Each row's new max, then probabilities, then each row's sum.
    const uint n = min(BC, hi - j0);
    float corr = 1.0;
    if (tid < BR) {
      float mx = m;
      for (uint c = 0; c < n; ++c) mx = max(mx, p_sh[tid * BC + c]);
      // A row that has seen nothing yet (mx still -inf) keeps a zero state: no NaN from -inf - -inf.
      corr = mx == NEG_INF ? 1.0 : exp(m - mx);
      m = mx;
      max_sh[tid] = mx;
      corr_sh[tid] = corr;
    }
    barrier();
    for (uint r = 0; r < BR; ++r) p_sh[r * BC + tid] = s[r] == NEG_INF ? 0.0 : exp(s[r] - max_sh[r]);
    barrier();
    if (tid < BR) {
      float sum = 0.0;
      for (uint c = 0; c < n; ++c) sum += p_sh[tid * BC + c];
      l = l * corr + sum;
    }

    // 3. acc = acc * corr + P V.
    if (rg < RG) {
      for (uint i = 0; i < RPT; ++i) {
        const uint r = min(rg + i * RG, BR - 1);
        for (uint ci = 0; ci < CPT; ++ci) acc[i * CPT + ci] *= corr_sh[r];
      }
      for (uint c = 0; c < n; ++c) {
        const uint vb = key_sh[c];
        if (vb == NO_KEY) continue;
        for (uint ci = 0; ci < CPT; ++ci) {
          const uint cc = col + ci * WG;
          if (cc >= C4) break;
          const vec4 vv = vec4(v4.v[vb + cc]);
          for (uint i = 0; i < RPT; ++i) {
            const uint r = min(rg + i * RG, BR - 1);
            acc[i * CPT + ci] = fma(vec4(p_sh[r * BC + c]), vv, acc[i * CPT + ci]);
          }
        }
      }
    }
    barrier();
  }

  // Each row's sum, for the output threads.
  if (tid < BR) {
    max_sh[tid] = m;
    corr_sh[tid] = l;
  }
  barrier();
  if (rg >= RG) return;
  for (uint i = 0; i < RPT; ++i) {
    const uint r = rg + i * RG, row = row0 + r;
    if (r >= BR || row >= rows) break;
    const uint t = row / group, h = kvh * group + row % group;
    const uint out_row = t * p.q_heads + h;
    for (uint ci = 0; ci < CPT; ++ci) {
      const uint cc = col + ci * WG;
      if (cc >= C4) break;
      const vec4 a = acc[i * CPT + ci];
      if (p.splits == 1) {
        const vec4 o = a / corr_sh[r];
        const uint b = out_row * HD + cc * 4;
        p.out_.v[b] = o.x;
        p.out_.v[b + 1] = o.y;
        p.out_.v[b + 2] = o.z;
        p.out_.v[b + 3] = o.w;
      } else {
        // partials: [split][row of all q heads][max, sum, HD accumulator values]
        const uint b = (split * p.tokens * p.q_heads + out_row) * (HD + 2);
        if (cc == 0) {
          p.partials.v[b] = max_sh[r];
          p.partials.v[b + 1] = corr_sh[r];
        }
        p.partials.v[b + 2 + cc * 4] = a.x;
        p.partials.v[b + 3 + cc * 4] = a.y;
        p.partials.v[b + 4 + cc * 4] = a.z;
        p.partials.v[b + 5 + cc * 4] = a.w;
      }
    }
  }
}
