#version 450
#extension GL_GOOGLE_include_directive : require
// The second pass of split-K attention (attention_flash.comp with splits > 1): merges each output row's
// partial softmax states, one per split of the keys, into out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s
// with M the largest m_s. A split that saw no key left m_s = -inf and weighs nothing.
// partials: [split][row][max, sum, head_dim accumulator values]; one workgroup per row (flat over x, y).
#include "lagvk.glsl"

layout(local_size_x_id = 0) in;

#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_ATTENTION_COMBINE)

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;
  const uint stride = p.head_dim + 2;
  float big = -1.0 / 0.0;
  for (uint s = 0; s < p.splits; ++s) big = max(big, p.partials.v[(s * p.rows + row) * stride]);
  float sum = 0.0;
  for (uint s = 0; s < p.splits; ++s) {
    const uint b = (s * p.rows + row) * stride;
    const float ms = p.partials.v[b];
    if (ms != -1.0 / 0.0) sum += exp(ms - big) * p.partials.v[b + 1];
  }
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim; d += gl_WorkGroupSize.x) {
    float acc = 0.0;
    for (uint s = 0; s < p.splits; ++s) {
      const uint b = (s * p.rows + row) * stride;
      const float ms = p.partials.v[b];
      if (ms != -1.0 / 0.0) acc += exp(ms - big) * p.partials.v[b + 2 + d];
    }
    p.out_.v[row * p.head_dim + d] = acc / sum;
  }
}
