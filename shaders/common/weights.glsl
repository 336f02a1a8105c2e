// Weight row access for every weight format, selected by one of WEIGHT_F32, WEIGHT_F16, WEIGHT_Q8_0,
// WEIGHT_Q4_0. Quantized formats are dequantized on the fly: weights are never expanded in memory.
// Rows are K elements long; quantized rows are K/32 blocks of 32 elements (ggml's layout).
#if defined(WEIGHT_F32)
#define WeightPtr F32Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) { return w.v[row * K + k]; }
#elif defined(WEIGHT_F16)
#define WeightPtr F16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) { return float(w.v[row * K + k]); }
#elif defined(WEIGHT_Q8_0)
// block_q8_0 = { f16 d; int8 qs[32]; } = 17 halves; read as 16-bit words (2-byte aligned blocks).
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint block = row * (K / 32) + k / 32;
  const uint base = block * 17;
  const float d = unpackHalf2x16(uint(w.v[base])).x;
  const uint j = k % 32;
  const uint word = uint(w.v[base + 1 + j / 2]);
  const int q = int((word >> (8 * (j & 1))) & 0xFF);
  return d * float(q >= 128 ? q - 256 : q);
}
#elif defined(WEIGHT_Q4_0)
// block_q4_0 = { f16 d; uint8 qs[16]; } = 9 halves; element j < 16 is the low nibble of qs[j],
// element j + 16 the high nibble; value = d * (q - 8).
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint block = row * (K / 32) + k / 32;
  const uint base = block * 9;
  const float d = unpackHalf2x16(uint(w.v[base])).x;
  const uint j = k % 32;
  const uint byte_index = j % 16;
  const uint word = uint(w.v[base + 1 + byte_index / 2]);
  const uint b = (word >> (8 * (byte_index & 1))) & 0xFF;
  const uint q = j < 16 ? (b & 0xF) : (b >> 4);
  return d * (float(q) - 8.0);
}
#else
#error "define one of WEIGHT_F32, WEIGHT_F16, WEIGHT_Q8_0, WEIGHT_Q4_0"
#endif

// Chunked row access for bandwidth-bound kernels: chunk_dot(w, row, K, c, x) is the dot product of
// elements [c * CHUNK, (c + 1) * CHUNK) of a weight row with the same elements of x. Lanes of a
// subgroup take consecutive chunks, so a subgroup streams each row contiguously with wide loads.
// VEC variants need K to be a multiple of CHUNK and 16-byte aligned rows and x (the host checks).
layout(buffer_reference, std430, buffer_reference_align = 16) buffer U32x4Ptr { uvec4 v[]; };
#if defined(WEIGHT_F32) && defined(VEC)
#define CHUNK 4
#define ChunkPtr Vec4Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, F32Ptr x) {
  Vec4Ptr xv = Vec4Ptr(x);
  return dot(w.v[row * (K / 4) + c], xv.v[c]);
}
#elif defined(WEIGHT_F16) && defined(VEC)
#define CHUNK 8
#define ChunkPtr U32x4Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, F32Ptr x) {
  Vec4Ptr xv = Vec4Ptr(x);
  const uvec4 q = w.v[row * (K / 8) + c];
  return dot(vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)), xv.v[2 * c]) +
         dot(vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)), xv.v[2 * c + 1]);
}
#elif defined(WEIGHT_Q8_0)
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, F32Ptr x) {
  const uint base = (row * (K / 32) + c) * 17;
  Vec4Ptr xv = Vec4Ptr(x);
  float s = 0.0;
  for (uint i = 0; i < 8; ++i) {
    const uint lo = uint(w.v[base + 1 + 2 * i]), hi = uint(w.v[base + 2 + 2 * i]);
    const vec4 q = vec4(ivec4(int(lo << 24) >> 24, int(lo << 16) >> 24, int(hi << 24) >> 24, int(hi << 16) >> 24));
    s += dot(q, xv.v[c * 8 + i]);
  }
  return s * unpackHalf2x16(uint(w.v[base])).x;
}
#elif defined(WEIGHT_Q4_0)
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, F32Ptr x) {
  const uint base = (row * (K / 32) + c) * 9;
  Vec4Ptr xv = Vec4Ptr(x);
  float s = 0.0;
  for (uint i = 0; i < 4; ++i) {
    const uint b = uint(w.v[base + 1 + 2 * i]) | (uint(w.v[base + 2 + 2 * i]) << 16);  // qs[4i .. 4i+3]
    const vec4 lo = vec4(uvec4(b & 0xF, (b >> 8) & 0xF, (b >> 16) & 0xF, (b >> 24) & 0xF)) - 8.0;
    const vec4 hi = vec4(uvec4((b >> 4) & 0xF, (b >> 12) & 0xF, (b >> 20) & 0xF, b >> 28)) - 8.0;
    s += dot(lo, xv.v[c * 8 + i]) + dot(hi, xv.v[c * 8 + 4 + i]);
  }
  return s * unpackHalf2x16(uint(w.v[base])).x;
}
#else
#define CHUNK 1
#define ChunkPtr WeightPtr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, F32Ptr x) { return weight_at(w, row, K, c) * x.v[c]; }
#endif
