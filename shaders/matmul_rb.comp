#version 450
#extension GL_GOOGLE_include_directive : require
// C = A * B^T for prefill, register-blocked without shared memory: each invocation computes a TM x TN
// block of C, reading TM rows of A (vec4 loads, the same rows for every lane of a workgroup) and TN rows
// of B by wide chunks (chunk_dot of weights.glsl), and keeps the whole block in registers. For devices
// where shared memory is no faster than cached global memory: on lavapipe a 16 x 32 block runs 8-10x
// faster than the shared-memory tiled kernel (matmul.comp), which suits GPUs. BOUND_WEIGHTS variants read
// B through a storage descriptor (set 0, binding 0; see weights.glsl), TEXEL_WEIGHTS variants B through
// texel views (bindings 0 and 1) and A too (binding 2: vec4 texels), ignoring those addresses.
#include "lagvk.glsl"
#define WEIGHT_WORDS_BINDING 1
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 16;
layout(constant_id = 2) const uint TN = 32;
// 1: C += A * B^T (ops::Epilogue::accumulate: the residual connection in the projection's epilogue).
layout(constant_id = 3) const bool ACCUMULATE = false;

#define MatmulWeightPtr ChunkPtr
#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_MATMUL)

#if defined(TEXEL_WEIGHTS)
layout(set = 0, binding = 2) uniform samplerBuffer texel_a;
void load_a_chunk(uint vec4_offset, uint c, out vec4 xs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) xs[i] = texelFetch(texel_a, int(vec4_offset + c * (CHUNK / 4) + i));
}
#else
void load_a_chunk(uint vec4_offset, uint c, out vec4 xs[CHUNK / 4]) { load_x_chunk_at(p.a, vec4_offset, c, xs); }
#endif

void main() {
  const uint col0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TN;
  const uint row0 = gl_WorkGroupID.y * TM;
  if (col0 >= p.N) return;
  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
  const uint chunks = p.K / CHUNK;
  const uint last_row = p.M - 1, last_col = p.N - 1;
  for (uint ch = 0; ch < chunks; ++ch) {
#if defined(CHUNK_VALUES)
    // Each weight chunk decoded once for the TM rows of A (rows past M repeat the last row; their
    // results are not stored).
    vec4 xs[TM][CHUNK / 4];
    for (uint i = 0; i < TM; ++i) load_a_chunk(min(row0 + i, last_row) * (p.a_stride / 4), ch, xs[i]);
    for (uint j = 0; j < TN; ++j) {
      vec4 wv[CHUNK / 4];
      chunk_values(p.b, min(col0 + j, last_col), p.K, ch, wv);
      for (uint i = 0; i < TM; ++i)
        for (uint q = 0; q < CHUNK / 4; ++q) acc[i][j] += dot(xs[i][q], wv[q]);
    }
#else
    for (uint i = 0; i < TM; ++i) {
      vec4 xs[CHUNK / 4];
      // Rows past M repeat the last row (their results are not stored).
      load_a_chunk(min(row0 + i, last_row) * (p.a_stride / 4), ch, xs);
      for (uint j = 0; j < TN; ++j) acc[i][j] += chunk_dot(p.b, min(col0 + j, last_col), p.K, ch, xs);
    }
#endif
  }
  for (uint i = 0; i < TM; ++i) {
    if (row0 + i >= p.M) break;
    for (uint j = 0; j < TN; ++j)
      if (col0 + j < p.N) {
        const uint at = (row0 + i) * p.c_stride + col0 + j;
        p.c.v[at] = ACCUMULATE ? p.c.v[at] + acc[i][j] : acc[i][j];
      }
  }
}
