#version 450
#extension GL_GOOGLE_include_directive : require
// Elementwise operations on fp32 vectors, one invocation per element. Variants:
//   OP_ADD:    out[i] = a[i] + b[i % b_period]   (b_period = n for a plain add; the row length for a bias)
//   OP_SWIGLU: out[i] = silu(a[i]) * b[i]        (a = gate, b = up)
//   OP_GELU:   out[i] = gelu(a[i])               (b unused; the tanh approximation llama.cpp's ggml_gelu
//   uses)
//   OP_GEGLU:  out[i] = gelu(a[i]) * b[i]        (a = gate, b = up: gemma's feed-forward)
//   OP_SCALE:  out[i] = a[i] * c                 (b unused: gemma's embedding scale)
//   OP_SOFTCAP: out[i] = c * tanh(a[i] / c)      (b unused: gemma2's final logit soft-capping)
// TEXEL_READS variants (CPU devices: see Context::texel_binding) read a and b as 32-bit texels (bindings 0
// and 1), ignoring those addresses; out is still written through its address.
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_ELEMENTWISE)

#if defined(TEXEL_READS)
layout(set = 0, binding = 0) uniform usamplerBuffer texel_a;
layout(set = 0, binding = 1) uniform usamplerBuffer texel_b;
float a_at(uint i) { return uintBitsToFloat(texelFetch(texel_a, int(i)).x); }
float b_at(uint i) { return uintBitsToFloat(texelFetch(texel_b, int(i)).x); }
#else
float a_at(uint i) { return p.a.v[i]; }
float b_at(uint i) { return p.b.v[i]; }
#endif

void main() {
  const uint i = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= p.n) return;
#if defined(OP_ADD)
  p.out_.v[i] = a_at(i) + b_at(i % p.b_period);
#elif defined(OP_SWIGLU)
  p.out_.v[i] = silu(a_at(i)) * b_at(i);
#elif defined(OP_GELU)
  p.out_.v[i] = gelu_tanh(a_at(i));
#elif defined(OP_GEGLU)
  p.out_.v[i] = gelu_tanh(a_at(i)) * b_at(i);
#elif defined(OP_SCALE)
  p.out_.v[i] = a_at(i) * p.c;
#elif defined(OP_SOFTCAP)
  p.out_.v[i] = p.c * stable_tanh(a_at(i) / p.c);
#else
#error "define OP_ADD, OP_SWIGLU, OP_GELU, OP_GEGLU, OP_SCALE or OP_SOFTCAP"
#endif
}
