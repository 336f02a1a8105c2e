#version 450
#extension GL_GOOGLE_include_directive : require
// C = A * B^T for prefill: A is M x K fp32 activations (row stride a_stride), B is N x K weights in any
// weight format (dequantized while loading tiles), C is M x N fp32 (row stride c_stride).
// Each workgroup computes a BM x BN tile of C; each thread a TM x TN micro-tile, accumulating in fp32.
#include "lagvk.glsl"
#include "weights.glsl"

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(local_size_x_id = 3) in;
// 1: C += A * B^T (ops::Epilogue::accumulate: the residual connection in the projection's epilogue).
layout(constant_id = 4) const bool ACCUMULATE = false;
const uint TM = 4;
const uint TN = 4;

#define MatmulWeightPtr WeightPtr
#include "push_constants.h"
LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_MATMUL)

shared float tile_a[BK][BM + 1];
shared float tile_b[BK][BN + 1];

void main() {
  const uint threads = gl_WorkGroupSize.x;
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.y * BM;
  const uint col0 = gl_WorkGroupID.x * BN;
  const uint tx = tid % (BN / TN);  // which TN-wide column strip
  const uint ty = tid / (BN / TN);  // which TM-tall row strip

  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    for (uint e = tid; e < BM * BK; e += threads) {
      const uint r = e / BK, kk = e % BK;
      const uint gr = row0 + r, gk = k0 + kk;
      tile_a[kk][r] = (gr < p.M && gk < p.K) ? p.a.v[gr * p.a_stride + gk] : 0.0;
    }
    for (uint e = tid; e < BN * BK; e += threads) {
      const uint r = e / BK, kk = e % BK;
      const uint gr = col0 + r, gk = k0 + kk;
      tile_b[kk][r] = (gr < p.N && gk < p.K) ? weight_at(p.b, gr, p.K, gk) : 0.0;
    }
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float av[TM], bv[TN];
      for (uint i = 0; i < TM; ++i) av[i] = tile_a[kk][ty * TM + i];
      for (uint j = 0; j < TN; ++j) bv[j] = tile_b[kk][tx * TN + j];
      for (uint i = 0; i < TM; ++i)
        for (uint j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0; i < TM; ++i) {
    const uint gr = row0 + ty * TM + i;
    if (gr >= p.M) break;
    for (uint j = 0; j < TN; ++j) {
      const uint gc = col0 + tx * TN + j;
      if (gc < p.N) {
        const uint at = gr * p.c_stride + gc;
        p.c.v[at] = ACCUMULATE ? p.c.v[at] + acc[i][j] : acc[i][j];
      }
    }
  }
}
