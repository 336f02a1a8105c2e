#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for decode: W is N x K weights in any weight format, x is K fp32, y is N fp32.
// Memory-bound. A workgroup is several subgroups; each subgroup computes ROWS consecutive rows. Its lanes
// take consecutive chunks of the rows (wide, contiguous loads; see weights.glsl), load each chunk of x
// once for all ROWS rows, and reduce with subgroup adds: no shared memory, no barriers.
// BOUND_WEIGHTS variants read W, x and y through storage descriptors (set 0, bindings 0, 1, 2; see
// weights.glsl for why), TEXEL_WEIGHTS variants W and x through texel views (W: bindings 0 and 3, x: 1)
// and y through a storage descriptor (2); both ignore the addresses in the push constants.
#include "lagvk.glsl"
#include "weights.glsl"

layout(constant_id = 0) const uint ROWS = 8;
layout(local_size_x_id = 1) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_MATVEC)

#if defined(TEXEL_WEIGHTS)
layout(set = 0, binding = 1) uniform samplerBuffer texel_x;
layout(set = 0, binding = 2, std430) writeonly buffer BoundY { float v[]; } bound_y;
void load_x(uint c, out vec4 xs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) xs[i] = texelFetch(texel_x, int(c * (CHUNK / 4) + i));
}
void store_y(uint i, float v) { bound_y.v[i] = v; }
#elif defined(BOUND_WEIGHTS)
layout(set = 0, binding = 1, std430) readonly buffer BoundX { vec4 v[]; } bound_x;
layout(set = 0, binding = 2, std430) writeonly buffer BoundY { float v[]; } bound_y;
void load_x(uint c, out vec4 xs[CHUNK / 4]) {
  for (uint i = 0; i < CHUNK / 4; ++i) xs[i] = bound_x.v[c * (CHUNK / 4) + i];
}
void store_y(uint i, float v) { bound_y.v[i] = v; }
#else
#if !defined(SCALAR_CHUNKS)
void load_x(uint c, out vec4 xs[CHUNK / 4]) { load_x_chunk(p.x, c, xs); }
#endif
void store_y(uint i, float v) { p.y.v[i] = v; }
#endif

void main() {
  const uint row0 = (flat_group_id() * gl_NumSubgroups + gl_SubgroupID) * ROWS;
  if (row0 >= p.N) return;
  const uint lane = gl_SubgroupInvocationID;
  // The last subgroup may hold fewer rows; its missing rows repeat the last real one (harmless reads).
  const uint last = p.N - 1;
  float acc[ROWS];
  for (uint r = 0; r < ROWS; ++r) acc[r] = 0.0;
#if defined(SCALAR_CHUNKS)
  for (uint k = lane; k < p.K; k += gl_SubgroupSize) {
    const float xv = p.x.v[k];
    for (uint r = 0; r < ROWS; ++r) acc[r] = fma(weight_at(p.w, min(row0 + r, last), p.K, k), xv, acc[r]);
  }
#else
  const uint chunks = p.K / CHUNK;
  for (uint c = lane; c < chunks; c += gl_SubgroupSize) {
    vec4 xs[CHUNK / 4];
    load_x(c, xs);
    for (uint r = 0; r < ROWS; ++r) acc[r] += chunk_dot(p.w, min(row0 + r, last), p.K, c, xs);
  }
#endif
  for (uint r = 0; r < ROWS; ++r) {
    const float s = subgroupAdd(acc[r]);
    if (lane == 0 && row0 + r < p.N) store_y(row0 + r, s);
  }
}
