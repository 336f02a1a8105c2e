#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary position embedding in place on x (tokens x heads x head_dim, fp32, with a token stride so a
// slice of a fused QKV row works too). One invocation per rotated pair.
// mode 0 "normal": pairs (2i, 2i+1), llama GGUF files; mode 1 "neox": pairs (i, i + n/2).
// theta_i = pos * base^(-2i/n) / factor_i * freq_scale; inverse = 1 rotates by -theta (un-rotation).
#include "lagvk.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_ROPE)

void main() {
  const uint pairs = p.rot_dims / 2;
  const uint id = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (id >= p.tokens * p.heads * pairs) return;
  const uint i = id % pairs;
  const uint h = (id / pairs) % p.heads;
  const uint t = id / (pairs * p.heads);
  float theta = rope_theta(float(p.positions.v[t]), i, p.rot_dims, p.freq_base, p.freq_scale, p.has_factors != 0,
                           p.factors);
  if (p.inverse != 0) theta = -theta;
  const uint base = t * p.token_stride + h * p.head_dim;
  const uvec2 e = rope_pair(i, p.rot_dims, p.mode);
  const uint i0 = base + e.x, i1 = base + e.y;
  const float c = cos(theta), s = sin(theta);
  const float x0 = p.x.v[i0], x1 = p.x.v[i1];
  p.x.v[i0] = x0 * c - x1 * s;
  p.x.v[i1] = x0 * s + x1 * c;
}
