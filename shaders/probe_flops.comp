#version 450
#extension GL_GOOGLE_include_directive : require
// FLOP/s probe for benchmarks: independent fma chains that keep every lane busy and never touch memory
// except for one store per invocation (so the compiler cannot drop the work).
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_PROBE_FLOPS)

void main() {
  vec4 a = vec4(gl_LocalInvocationID.x) * 1e-7, b = a + 1e-7, c = a + 2e-7, d = a + 3e-7;
  const vec4 m = vec4(0.999999), k = vec4(1e-7);
  for (uint i = 0; i < p.iterations; ++i) {
    a = fma(a, m, k);
    b = fma(b, m, k);
    c = fma(c, m, k);
    d = fma(d, m, k);
  }
  const vec4 s = a + b + c + d;
  p.out_.v[flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x] = s.x + s.y + s.z + s.w;
}
