#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for decode: W is N x K weights in any weight format, x is K fp32, y is N fp32. The EPILOGUE
// constant (ops::Epilogue) may add W x to y instead (the residual connection in the projection's epilogue:
// no separate add), or gate it: W is then 2N x K (gate rows, then up rows, as GpuLayer::w_gate_up stacks
// them) and y[i] = act(W[i] x) (W[N + i] x), the feed-forward's SwiGLU or GeGLU without a separate kernel.
// Memory-bound. A workgroup is several subgroups; each subgroup computes ROWS consecutive rows
// (TEXEL_WEIGHTS: ROWS x ROW_SLOTS rows). Its lanes
// take consecutive chunks of the rows (wide, contiguous loads; see weights.glsl), load each chunk of x
// once for all ROWS rows, and reduce with subgroup adds: no shared memory, no barriers.
// BOUND_WEIGHTS variants read W, x and y through storage descriptors (set 0, bindings 0, 1, 2; see
// weights.glsl for why), TEXEL_WEIGHTS variants W and x through texel views (W: bindings 0 and 3, x: 1)
// and y through a storage descriptor (2); both ignore the addresses in the push constants.
// TEXEL_GROUPS variants (K a multiple of TEXEL_GROUP blocks) give each lane whole 16-byte aligned runs of
// blocks instead of single blocks (see weight_groups.glsl).
// The NORM constant (ops::InputNorm) applies an RMS norm to x first, y = W (x / rms(x) * g), the decode
// step's block input norm without a kernel of its own: lanes multiply their chunks of x by the norm's
// weight g as they load them and sum their squares, and the 1 / rms(x) scale comes after the reduction
// (each dot product is linear in x). Every lane set that covers a row covers all of x, so the sum of squares
// needs no pass of its own. g is read like x: a texel view (binding 4), a storage buffer (binding 3) or
// its address.
#include "lagvk.glsl"
#include "weights.glsl"
#if defined(TEXEL_WEIGHTS)
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
#if defined(TEXEL_GROUPS)
#include "weight_groups.glsl"
#endif

layout(constant_id = 0) const uint ROWS = 8;
layout(local_size_x_id = 1) in;
// ops::Epilogue: 0 y = W x, 1 y += W x, 2 SwiGLU, 3 GeGLU.
layout(constant_id = 3) const uint EPILOGUE = 0;
const bool ACCUMULATE = EPILOGUE == 1;
const bool GATED = EPILOGUE >= 2;
// Gated: each output row takes two weight rows (its gate's and its up's), each with its accumulator.
const uint PARTS = GATED ? 2 : 1;
layout(constant_id = 4) const uint NORM = 0;
const bool NORMED = NORM != 0;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_MATVEC)

#if defined(TEXEL_WEIGHTS)
layout(set = 0, binding = 1) uniform samplerBuffer texel_x;
layout(set = 0, binding = 2, std430) buffer BoundY { float v[]; } bound_y;
void load_x(uint c, out vec4 xs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) xs[i] = texelFetch(texel_x, int(c * (CHUNK / 4) + i));
}
void store_y(uint i, float v) { bound_y.v[i] = ACCUMULATE ? bound_y.v[i] + v : v; }
layout(set = 0, binding = 4) uniform samplerBuffer texel_norm;
void load_norm(uint c, out vec4 gs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) gs[i] = texelFetch(texel_norm, int(c * (CHUNK / 4) + i));
}
#elif defined(BOUND_WEIGHTS)
layout(set = 0, binding = 1, std430) readonly buffer BoundX { vec4 v[]; } bound_x;
layout(set = 0, binding = 2, std430) buffer BoundY { float v[]; } bound_y;
void load_x(uint c, out vec4 xs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) xs[i] = bound_x.v[c * (CHUNK / 4) + i];
}
void store_y(uint i, float v) { bound_y.v[i] = ACCUMULATE ? bound_y.v[i] + v : v; }
layout(set = 0, binding = 3, std430) readonly buffer BoundNorm { vec4 v[]; } bound_norm;
void load_norm(uint c, out vec4 gs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) gs[i] = bound_norm.v[c * (CHUNK / 4) + i];
}
#else
#if !defined(SCALAR_CHUNKS)
void load_x(uint c, out vec4 xs[CHUNK / 4]) { load_x_chunk(p.x, c, xs); }
void load_norm(uint c, out vec4 gs[CHUNK / 4]) { load_x_chunk(p.norm, c, gs); }
#endif
void store_y(uint i, float v) { p.y.v[i] = ACCUMULATE ? p.y.v[i] + v : v; }
#endif

#if !defined(SCALAR_CHUNKS)
// Chunk c of x as the rows multiply it: with NORMED, times the norm's weight, its squares added to ss.
void load_input(uint c, out vec4 xs[CHUNK / 4], inout float ss) {
  load_x(c, xs);
  if (NORMED) {
    vec4 gs[CHUNK / 4];
    load_norm(c, gs);
    for (uint i = 0; i < CHUNK / 4; ++i) {
      ss += dot(xs[i], xs[i]);
      xs[i] *= gs[i];
    }
  }
}
#endif

// TEXEL_WEIGHTS: rows whose few chunks or groups would leave lanes idle (K = 576 is 18 Q4_1 blocks, K = 1024
// 4 Q8_0 groups) share a subgroup: ROW_SLOTS rows side by side, each taken by gl_SubgroupSize / ROW_SLOTS
// lanes.
layout(constant_id = 2) const uint ROW_SLOTS = 1;

// The weight row of accumulator a (see acc in main): row0 + r * slots + slot for output row r, repeated
// past the last row, then moved into its part.
uint weight_row(uint row0, uint slots, uint slot, uint a) {
  return min(row0 + (a % ROWS) * slots + slot, p.N - 1) + (a / ROWS) * p.N;
}

// The sum of v over the lanes that share this lane's row (its slot's).
float row_sum(float v, uint slots, uint lanes) {
#if defined(TEXEL_WEIGHTS)
  if (slots > 1) {  // a butterfly within each slot's lanes
    for (uint d = lanes / 2; d > 0; d /= 2) v += subgroupShuffleXor(v, d);
    return v;
  }
#endif
  return subgroupAdd(v);
}

void main() {
#if defined(TEXEL_WEIGHTS)
  const uint slots = ROW_SLOTS;
#else
  const uint slots = 1;
#endif
  const uint row0 = (flat_group_id() * gl_NumSubgroups + gl_SubgroupID) * ROWS * slots;
  if (row0 >= p.N) return;
  const uint lanes = gl_SubgroupSize / slots;  // lanes per row
  const uint lane = gl_SubgroupInvocationID % lanes, slot = gl_SubgroupInvocationID / lanes;
  // Row r of this lane is row0 + r * slots + slot. The last subgroup may hold fewer rows; its missing rows
  // repeat the last real one (harmless reads).
  // Accumulator a < ROWS * PARTS is output row a % ROWS's, weight part a / ROWS (0: gate, 1: up).
  float acc[ROWS * 2];
  for (uint a = 0; a < ROWS * PARTS; ++a) acc[a] = 0.0;
  float ss = 0.0;  // NORMED: this lane's share of x's squares
#if defined(SCALAR_CHUNKS)
  for (uint k = lane; k < p.K; k += lanes) {
    float xv = p.x.v[k];
    if (NORMED) {
      ss = fma(xv, xv, ss);
      xv *= p.norm.v[k];
    }
    for (uint a = 0; a < ROWS * PARTS; ++a)
      acc[a] = fma(weight_at(p.w, weight_row(row0, slots, slot, a), p.K, k), xv, acc[a]);
  }
#elif defined(TEXEL_GROUPS)
  const uint groups = p.K / (CHUNK * TEXEL_GROUP);
  uvec4 carry[ROWS * 2];
  for (uint g = lane; g < groups; g += lanes) {
#define GROUP_BLOCK(j)                                                                              \
  if (j < TEXEL_GROUP) {                                                                            \
    vec4 xs[CHUNK / 4];                                                                             \
    load_input(g * TEXEL_GROUP + j, xs, ss);                                                        \
    vec4 xv = xs[0];                                                                                \
    for (uint i = 1; i < CHUNK / 4; ++i) xv += xs[i];                                               \
    const float xsum = xv.x + xv.y + xv.z + xv.w;                                                   \
    for (uint a = 0; a < ROWS * PARTS; ++a)                                                         \
      acc[a] += group_chunk_dot(p.w, weight_row(row0, slots, slot, a), p.K, g, j, xs, xsum, carry[a]); \
  }
    // Unrolled by hand so that each block's byte offset in its group is a constant.
    GROUP_BLOCK(0u) GROUP_BLOCK(1u) GROUP_BLOCK(2u) GROUP_BLOCK(3u)
    GROUP_BLOCK(4u) GROUP_BLOCK(5u) GROUP_BLOCK(6u) GROUP_BLOCK(7u)
  }
#else
  const uint chunks = p.K / CHUNK;
  for (uint c = lane; c < chunks; c += lanes) {
    vec4 xs[CHUNK / 4];
    load_input(c, xs, ss);
    for (uint a = 0; a < ROWS * PARTS; ++a) acc[a] += chunk_dot(p.w, weight_row(row0, slots, slot, a), p.K, c, xs);
  }
#endif
  for (uint a = 0; a < ROWS * PARTS; ++a) acc[a] = row_sum(acc[a], slots, lanes);
  const float scale = NORMED ? inversesqrt(row_sum(ss, slots, lanes) / float(p.K) + p.eps) : 1.0;
  for (uint r = 0; r < ROWS; ++r) {
    float s = acc[r] * scale;
    if (GATED) s = (EPILOGUE == 2 ? silu(s) : gelu_tanh(s)) * (acc[ROWS + r] * scale);
    const uint row = row0 + r * slots + slot;
    if (lane == 0 && row < p.N) store_y(row, s);
  }
}
