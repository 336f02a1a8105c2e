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

// Chunked row access for bandwidth-bound kernels. A chunk is CHUNK consecutive elements of a row
// (CHUNK / 4 vec4 of x); load_x_chunk reads the matching x once, and chunk_dot(w, row, K, c, xs) is the
// dot product of chunk c of a weight row with it, so several rows reuse one x load. Lanes of a subgroup
// take consecutive chunks, so a subgroup streams each row contiguously with wide loads.
// VEC variants need K to be a multiple of CHUNK and 16-byte aligned rows and x (the host checks).
layout(buffer_reference, std430, buffer_reference_align = 16) buffer U32x4Ptr { uvec4 v[]; };
#if defined(WEIGHT_F32) && defined(VEC)
#define CHUNK 4
#define ChunkPtr Vec4Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) { return dot(w.v[row * (K / 4) + c], xs[0]); }
#elif defined(WEIGHT_F16) && defined(VEC)
#define CHUNK 8
#define ChunkPtr U32x4Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uvec4 q = w.v[row * (K / 8) + c];
  return dot(vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)), xs[0]) +
         dot(vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)), xs[1]);
}
#elif defined(WEIGHT_Q8_0)
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 32) + c) * 17;
  float s = 0.0;
  for (uint i = 0; i < 8; ++i) {
    const uint lo = uint(w.v[base + 1 + 2 * i]), hi = uint(w.v[base + 2 + 2 * i]);
    const vec4 q = vec4(ivec4(int(lo << 24) >> 24, int(lo << 16) >> 24, int(hi << 24) >> 24, int(hi << 16) >> 24));
    s += dot(q, xs[i]);
  }
  return s * unpackHalf2x16(uint(w.v[base])).x;
}
#elif defined(WEIGHT_Q4_0)
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 32) + c) * 9;
  float s = 0.0;
  for (uint i = 0; i < 4; ++i) {
    const uint b = uint(w.v[base + 1 + 2 * i]) | (uint(w.v[base + 2 + 2 * i]) << 16);  // qs[4i .. 4i+3]
    const vec4 lo = vec4(uvec4(b & 0xF, (b >> 8) & 0xF, (b >> 16) & 0xF, (b >> 24) & 0xF)) - 8.0;
    const vec4 hi = vec4(uvec4((b >> 4) & 0xF, (b >> 12) & 0xF, (b >> 20) & 0xF, b >> 28)) - 8.0;
    s += dot(lo, xs[i]) + dot(hi, xs[4 + i]);
  }
  return s * unpackHalf2x16(uint(w.v[base])).x;
}
#endif

#if defined(VEC) || defined(WEIGHT_Q8_0) || defined(WEIGHT_Q4_0)
// x may be a row of a matrix starting vec4_offset vec4s into the buffer.
void load_x_chunk_at(F32Ptr x, uint vec4_offset, uint c, out vec4 xs[CHUNK / 4]) {
  Vec4Ptr xv = Vec4Ptr(x);
  for (uint i = 0; i < CHUNK / 4; ++i) xs[i] = xv.v[vec4_offset + c * (CHUNK / 4) + i];
}
void load_x_chunk(F32Ptr x, uint c, out vec4 xs[CHUNK / 4]) { load_x_chunk_at(x, 0, c, xs); }
#else
// Scalar fallback for odd row lengths: one element per chunk, carried in xs[0].x.
#define CHUNK 4
#define ChunkPtr WeightPtr
#define SCALAR_CHUNKS
#endif
