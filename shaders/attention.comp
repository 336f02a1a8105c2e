#version 450
#extension GL_GOOGLE_include_directive : require
// Causal grouped-query attention over a paged fp16 KV cache, fp32 accumulation.
// q: tokens x q_heads x head_dim (fp32); out has q's layout. The cache of one layer is a pool of pages,
// each page_tokens x kv_heads x head_dim halves for K and the same for V; the sequence's block table
// lists its pages in order, so cache entry j lives in page table[j / page_tokens], slot j % page_tokens.
// Query t sees entries [0, kv_start + t]; the BIDIRECTIONAL variant (encoders such as BERT) lets every
// query see all entries [0, kv_start + tokens). fill[i] is the number of valid slots of the table's i-th
// page: a spliced log ends on a partly filled page and the slots after it are holes that no query attends to.
// A sliding window (window > 0) hides entries window or more before the query's own entry, and a soft cap
// (softcap > 0) bends each scaled score s to softcap * tanh(s / softcap) before the softmax.
// One workgroup per (query head, token); keys are processed in chunks of the workgroup size with an online
// softmax, so context length is not limited by shared memory.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;
const uint MAX_DIMS_PER_THREAD = 4;
const uint MAX_HEAD_DIM = 512;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_ATTENTION)

shared float q_sh[MAX_HEAD_DIM];
shared float score_sh[1024];

uint cache_index(uint j, uint kvh) {
  const uint page = uint(p.table.v[j / p.page_tokens]);
  return ((page * p.page_tokens + j % p.page_tokens) * p.kv_heads + kvh) * p.head_dim;
}

void main() {
  const uint h = gl_WorkGroupID.x;
  const uint t = gl_WorkGroupID.y;
  const uint tid = gl_LocalInvocationID.x;
  const uint wg = gl_WorkGroupSize.x;
  const uint kvh = h / (p.q_heads / p.kv_heads);
  const uint q_base = (t * p.q_heads + h) * p.head_dim;
  for (uint d = tid; d < p.head_dim; d += wg) q_sh[d] = p.q.v[q_base + d] * p.scale;
  barrier();

#if defined(BIDIRECTIONAL)
  const uint visible = p.kv_start + p.tokens;
#else
  const uint visible = p.kv_start + t + 1;
#endif
  // The first entry this query sees: the window counts back from the query's own entry.
  const uint self = p.kv_start + t;
  const uint first = (p.window > 0 && self + 1 > p.window) ? self + 1 - p.window : 0;
  float m = -1.0 / 0.0;  // running max of scores
  float l = 0.0;         // running sum of exp(score - m)
  float acc[MAX_DIMS_PER_THREAD];
  for (uint i = 0; i < MAX_DIMS_PER_THREAD; ++i) acc[i] = 0.0;

  for (uint j0 = first; j0 < visible; j0 += wg) {
    const uint n = min(wg, visible - j0);
    if (tid < n) {
      const uint j = j0 + tid;
      float s = -1.0 / 0.0;
      if (j % p.page_tokens < uint(p.fill.v[j / p.page_tokens])) {
        const uint kb = cache_index(j, kvh);
        s = 0.0;
        for (uint d = 0; d < p.head_dim; ++d) s = fma(q_sh[d], float(p.k.v[kb + d]), s);
        if (p.softcap > 0.0) s = p.softcap * stable_tanh(s / p.softcap);
      }
      score_sh[tid] = s;
    }
    barrier();
    float chunk_max = m;
    for (uint j = 0; j < n; ++j) chunk_max = max(chunk_max, score_sh[j]);
    // A chunk of holes only (chunk_max still -inf) changes nothing.
    if (chunk_max == -1.0 / 0.0) {
      barrier();
      continue;
    }
    const float correction = exp(m - chunk_max);
    l *= correction;
    for (uint i = 0; i < MAX_DIMS_PER_THREAD; ++i) acc[i] *= correction;
    for (uint j = 0; j < n; ++j) {
      if (score_sh[j] == -1.0 / 0.0) continue;
      const float w = exp(score_sh[j] - chunk_max);
      l += w;
      const uint vb = cache_index(j0 + j, kvh);
      for (uint i = 0; i < MAX_DIMS_PER_THREAD; ++i) {
        const uint d = tid + i * wg;
        if (d < p.head_dim) acc[i] = fma(w, float(p.v.v[vb + d]), acc[i]);
      }
    }
    m = chunk_max;
    barrier();
  }

  const float inv = 1.0 / l;
  for (uint i = 0; i < MAX_DIMS_PER_THREAD; ++i) {
    const uint d = tid + i * wg;
    if (d < p.head_dim) p.out_.v[q_base + d] = acc[i] * inv;
  }
}
