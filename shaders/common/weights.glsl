// Weight row access for every weight format of engine/model/weight_types.def, selected by
// WEIGHT_<FORMAT> (WEIGHT_F32, WEIGHT_Q4_1, ...). Quantized formats are dequantized on the fly: weights
// are never expanded in memory. Rows are K elements long; Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL rows
// are K/32 blocks of 32 elements, K-quant rows K/256 super-blocks of 256 elements (ggml's layouts).
// weight_at returns exactly the value ggml's (and engine/model/quant*.cpp's) dequantizer produces: the
// same fp32 operations in the same order, marked `precise` where a fused multiply-add would round
// differently.

// Every weight read goes through wv_<element type>(w, i): element i of the weights w (16-bit elements
// widened to 32 bits, so no 16-bit arithmetic). Kernels compiled with BOUND_WEIGHTS read them from a
// storage buffer bound at set 0, binding 0 (a descriptor) instead of the buffer address w (then unused):
// some drivers turn each load through a buffer device address into a loop over the lanes (Mesa's
// llvmpipe), while descriptor-bound loads stay vector loads. The host binds only tensors that fit the
// device's maxStorageBufferRange (engine/vk/context.hpp: Context::can_bind), padded to 16 bytes so that
// the wide loads of the last block stay inside the binding (a bound read past its end returns zeros).
// Kernels compiled with TEXEL_WEIGHTS read them as texels of two uniform texel buffer views of the same
// bytes: 16-byte texels (binding 0) and 32-bit words (binding WEIGHT_WORDS_BINDING, 3 unless the kernel
// defines it before including this file); the host makes them on devices that
// fetch texels faster than they load storage buffers (Context::texel_binding: llvmpipe gathers texels in
// registers but loads storage buffers lane by lane through memory).
layout(buffer_reference, std430, buffer_reference_align = 16) buffer U32x4Ptr { uvec4 v[]; };
#if defined(TEXEL_WEIGHTS)
#if !defined(WEIGHT_WORDS_BINDING)
#define WEIGHT_WORDS_BINDING 3
#endif
layout(set = 0, binding = 0) uniform usamplerBuffer weight_texels;
layout(set = 0, binding = WEIGHT_WORDS_BINDING) uniform usamplerBuffer weight_words;
uint weight_word(uint i) { return texelFetch(weight_words, int(i)).x; }
float wv_f32(F32Ptr w, uint i) { return uintBitsToFloat(weight_word(i)); }
vec4 wv_vec4(Vec4Ptr w, uint i) { return uintBitsToFloat(texelFetch(weight_texels, int(i))); }
float wv_f16(F16Ptr w, uint i) { return unpackHalf2x16(weight_word(i / 2) >> (16 * (i & 1))).x; }
uint wv_u16(U16Ptr w, uint i) { return (weight_word(i / 2) >> (16 * (i & 1))) & 0xFFFFu; }
uint wv_u32(U32Ptr w, uint i) { return weight_word(i); }
uvec4 wv_u32x4(U32x4Ptr w, uint i) { return texelFetch(weight_texels, int(i)); }
uvec4 weight_texel(uint i) { return texelFetch(weight_texels, int(i)); }
#elif defined(BOUND_WEIGHTS)
// One binding seen as each element type the formats read (aliases of the same buffer).
layout(set = 0, binding = 0, std430) readonly buffer BoundF32 { float v[]; } bound_f32;
layout(set = 0, binding = 0, std430) readonly buffer BoundVec4 { vec4 v[]; } bound_vec4;
layout(set = 0, binding = 0, std430) readonly buffer BoundF16 { float16_t v[]; } bound_f16;
layout(set = 0, binding = 0, std430) readonly buffer BoundU16 { uint16_t v[]; } bound_u16;
layout(set = 0, binding = 0, std430) readonly buffer BoundU32 { uint v[]; } bound_u32;
layout(set = 0, binding = 0, std430) readonly buffer BoundU32x4 { uvec4 v[]; } bound_u32x4;
float wv_f32(F32Ptr w, uint i) { return bound_f32.v[i]; }
vec4 wv_vec4(Vec4Ptr w, uint i) { return bound_vec4.v[i]; }
float wv_f16(F16Ptr w, uint i) { return float(bound_f16.v[i]); }
uint wv_u16(U16Ptr w, uint i) { return uint(bound_u16.v[i]); }
uint wv_u32(U32Ptr w, uint i) { return bound_u32.v[i]; }
uvec4 wv_u32x4(U32x4Ptr w, uint i) { return bound_u32x4.v[i]; }
#else
float wv_f32(F32Ptr w, uint i) { return w.v[i]; }
vec4 wv_vec4(Vec4Ptr w, uint i) { return w.v[i]; }
float wv_f16(F16Ptr w, uint i) { return float(w.v[i]); }
uint wv_u16(U16Ptr w, uint i) { return uint(w.v[i]); }
uint wv_u32(U32Ptr w, uint i) { return w.v[i]; }
uvec4 wv_u32x4(U32x4Ptr w, uint i) { return w.v[i]; }
#endif

// Byte n % 4 of a little-endian 32-bit word, and the four bytes of a word as floats.
uint byte_of(uint word, uint n) { return (word >> (8u * (n & 3u))) & 0xFFu; }
vec4 bytes4(uint b) { return vec4(uvec4(b, b >> 8, b >> 16, b >> 24) & 0xFFu); }

// The 6-bit scale and min of K-quant sub-block j (0..7), packed into 12 bytes held in three words
// s = (bytes 0-3, 4-7, 8-11): for j < 4 the low 6 bits of bytes j and j + 4; for j >= 4 a nibble of
// byte j + 4 plus the top 2 bits of bytes j - 4 (scale) and j (min).
void k_scale_min(uint j, uvec3 s, out float sc, out float m) {
  if (j < 4) {
    sc = float(byte_of(s.x, j) & 63u);
    m = float(byte_of(s.y, j) & 63u);
  } else {
    sc = float((byte_of(s.z, j) & 15u) | ((byte_of(s.x, j) >> 6) << 4));
    m = float((byte_of(s.z, j) >> 4) | ((byte_of(s.y, j) >> 6) << 4));
  }
}

// 32-element blocks keep element j (0..15) in the low nibble of qs[j] and element j + 16 in the high
// nibble. These read them from blocks that are only 2-byte aligned, as 16-bit words.
// The 32-bit word at 16-bit index i (two halves, little-endian).
uint word16(U16Ptr w, uint i) { return uint(wv_u16(w, i)) | (uint(wv_u16(w, i + 1)) << 16); }
// The 4-bit quant of element j (0..31) of a qs[16] starting at 16-bit index qs.
uint block_nibble(U16Ptr w, uint qs, uint j) {
  const uint byte_index = j % 16;
  const uint b = (uint(wv_u16(w, qs + byte_index / 2)) >> (8 * (byte_index & 1))) & 0xFFu;
  return j < 16 ? (b & 0xFu) : (b >> 4);
}
// Elements 4i .. 4i + 3 (low nibbles) and 16 + 4i .. 16 + 4i + 3 (high nibbles) from qs[4i .. 4i + 3].
uvec4 low_nibbles(uint b) { return uvec4(b, b >> 8, b >> 16, b >> 24) & 0xFu; }
uvec4 high_nibbles(uint b) { return uvec4(b >> 4, b >> 12, b >> 20, b >> 28) & 0xFu; }
// Bits e .. e + 3 of qh, as the fifth bit (16) of four 5-bit quants.
uvec4 fifth_bits(uint qh, uint e) { return ((uvec4(qh) >> uvec4(e, e + 1, e + 2, e + 3)) & 1u) << 4; }
// IQ4_NL's (and IQ4_XS's) 16 non-uniform levels -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38,
// 53, 69, 89, 113 as signed bytes, four per word: level q is byte q % 4 of component q / 4. (A vector
// lookup compiles to a few selects; a 16-entry constant array made lavapipe's first compile of the
// register-blocked matmul about twice as slow.)
const uvec4 IQ4NL_LEVELS = uvec4(0xBFAD9881u, 0xF6EADDCFu, 0x26190D01u, 0x71594535u);
float iq4nl_level(uint q) { return float(int(IQ4NL_LEVELS[q >> 2] << (24 - 8 * (q & 3u))) >> 24); }
vec4 iq4nl_levels(uvec4 q) { return vec4(iq4nl_level(q.x), iq4nl_level(q.y), iq4nl_level(q.z), iq4nl_level(q.w)); }

#if defined(WEIGHT_F32)
#define WeightPtr F32Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) { return wv_f32(w, row * K + k); }
#elif defined(WEIGHT_F16)
#define WeightPtr F16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) { return float(wv_f16(w, row * K + k)); }
#elif defined(WEIGHT_BF16)
// bfloat16 is the top half of an fp32.
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) { return uintBitsToFloat(uint(wv_u16(w, row * K + k)) << 16); }
#elif defined(WEIGHT_Q8_0)
// block_q8_0 = { f16 d; int8 qs[32]; } = 17 halves; read as 16-bit words (2-byte aligned blocks).
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint block = row * (K / 32) + k / 32;
  const uint base = block * 17;
  const float d = unpackHalf2x16(uint(wv_u16(w, base))).x;
  const uint j = k % 32;
  const uint word = uint(wv_u16(w, base + 1 + j / 2));
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
  const float d = unpackHalf2x16(uint(wv_u16(w, base))).x;
  const uint j = k % 32;
  const uint byte_index = j % 16;
  const uint word = uint(wv_u16(w, base + 1 + byte_index / 2));
  const uint b = (word >> (8 * (byte_index & 1))) & 0xFF;
  const uint q = j < 16 ? (b & 0xF) : (b >> 4);
  return d * (float(q) - 8.0);
}
#elif defined(WEIGHT_Q4_1)
// block_q4_1 = { f16 d; f16 m; u8 qs[16]; } = 10 halves; value = d * q + m.
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 32) + k / 32) * 10;
  const vec2 dm = unpackHalf2x16(word16(w, base));
  precise float v = dm.x * float(block_nibble(w, base + 2, k % 32)) + dm.y;
  return v;
}
#elif defined(WEIGHT_Q5_0)
// block_q5_0 = { f16 d; u8 qh[4]; u8 qs[16]; } = 11 halves; bit 4 of element j's quant is bit j of qh
// (a little-endian u32); value = d * (q - 16).
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 32) + k / 32) * 11;
  const uint j = k % 32;
  const uint q = block_nibble(w, base + 3, j) | (((word16(w, base + 1) >> j) & 1u) << 4);
  return unpackHalf2x16(uint(wv_u16(w, base))).x * float(int(q) - 16);
}
#elif defined(WEIGHT_Q5_1)
// block_q5_1 = { f16 d; f16 m; u8 qh[4]; u8 qs[16]; } = 12 halves; qh as in Q5_0; value = d * q + m.
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 32) + k / 32) * 12;
  const uint j = k % 32;
  const uint q = block_nibble(w, base + 4, j) | (((word16(w, base + 2) >> j) & 1u) << 4);
  const vec2 dm = unpackHalf2x16(word16(w, base));
  precise float v = dm.x * float(q) + dm.y;
  return v;
}
#elif defined(WEIGHT_IQ4_NL)
// block_iq4_nl = { f16 d; u8 qs[16]; } = 9 halves; value = d * level(q).
#define WeightPtr U16Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 32) + k / 32) * 9;
  return unpackHalf2x16(uint(wv_u16(w, base))).x * iq4nl_level(block_nibble(w, base + 1, k % 32));
}
#elif defined(WEIGHT_IQ4_XS)
// block_iq4_xs = { f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]; } = 34 words (4-byte aligned).
// Sub-block ib (0..7) has the 6-bit scale ls = nibble ib % 2 of scales_l[ib / 2] | (bits 2 ib, 2 ib + 1
// of scales_h) << 4; its elements are the nibbles of qs[16 ib ..] as in IQ4_NL; x = (d (ls - 32)) level(q).
#define WeightPtr U32Ptr
float iq4_xs_scale(U32Ptr w, uint base, uint ib) {
  const uint w0 = wv_u32(w, base);
  const uint ls = ((byte_of(wv_u32(w, base + 1), ib / 2) >> (4 * (ib & 1))) & 15u) | (((w0 >> (16 + 2 * ib)) & 3u) << 4);
  return unpackHalf2x16(w0).x * float(int(ls) - 32);
}
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 256) + k / 256) * 34;
  const uint i = k % 256, ib = i / 32, j = i % 32;
  const uint qbyte = 16 * ib + j % 16;
  const uint q = (byte_of(wv_u32(w, base + 2 + qbyte / 4), qbyte) >> (4 * (j / 16))) & 15u;
  return iq4_xs_scale(w, base, ib) * iq4nl_level(q);
}
#elif defined(WEIGHT_Q2_K)
// block_q2_K = { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin; } = 21 words. Element i = 128 n + 32 j +
// 16 h + l (n = 0..1, j = 0..3, h = 0..1, l = 0..15) belongs to sub-block s = 8 n + 2 j + h (scale: low
// nibble of scales[s], min: high nibble) and has its 2 bits at bit 2j of qs[32 n + 16 h + l];
// x = (d * scale) * q - dmin * min.
#define WeightPtr U32Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 256) + k / 256) * 21;
  const uint i = k % 256, n = i / 128, j = (i % 128) / 32, h = (i % 32) / 16, l = i % 16;
  const uint s = 8 * n + 2 * j + h;
  const uint sc = byte_of(wv_u32(w, base + s / 4), s);
  const uint qbyte = 32 * n + 16 * h + l;
  const uint q = (byte_of(wv_u32(w, base + 4 + qbyte / 4), qbyte) >> (2 * j)) & 3u;
  const vec2 dm = unpackHalf2x16(wv_u32(w, base + 20));
  const float dl = dm.x * float(sc & 15u), ml = dm.y * float(sc >> 4);
  precise float v = dl * float(q) - ml;
  return v;
}
#elif defined(WEIGHT_Q3_K)
// block_q3_K = { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d; } = 55 halves (2-byte aligned). Element
// i = 128 n + 32 j + 16 h + l has its 2 low bits at bit 2j of qs[32 n + 16 h + l] and its third bit at bit
// 4 n + j of hmask[16 h + l] (clear: subtract 4); sub-block s = 8 n + 2 j + h has the 6-bit scale
// (nibble s / 8 of scales[s % 8]) | (bits 2 (s / 4) of scales[8 + s % 4]) << 4; x = (d (scale - 32)) q.
#define WeightPtr U16Ptr
uint q3_k_byte(U16Ptr w, uint base, uint n) { return (uint(wv_u16(w, base + n / 2)) >> (8 * (n & 1))) & 0xFFu; }
float q3_k_scale(U16Ptr w, uint base, uint s) {
  const uint low = (q3_k_byte(w, base, 96 + s % 8) >> (4 * (s / 8))) & 15u;
  const uint high = (q3_k_byte(w, base, 104 + s % 4) >> (2 * (s / 4))) & 3u;
  return unpackHalf2x16(uint(wv_u16(w, base + 54))).x * float(int(low | (high << 4)) - 32);
}
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 256) + k / 256) * 55;
  const uint i = k % 256, n = i / 128, j = (i % 128) / 32, h = (i % 32) / 16, l = i % 16;
  const uint low = (q3_k_byte(w, base, 32 + 32 * n + 16 * h + l) >> (2 * j)) & 3u;
  const uint high = (q3_k_byte(w, base, 16 * h + l) >> (4 * n + j)) & 1u;
  return q3_k_scale(w, base, 8 * n + 2 * j + h) * float(int(low) - (high != 0u ? 0 : 4));
}
#elif defined(WEIGHT_Q4_K) || defined(WEIGHT_Q5_K)
// block_q4_K = { f16 d, dmin; u8 scales[12]; u8 qs[128]; } = 36 words; block_q5_K inserts u8 qh[32]
// before qs (44 words). Both are multiples of 16 bytes, so whole blocks are read as 32-bit words.
// Sub-block j (0..7) element l (0..31) is a nibble of qs[32 (j / 2) + l], low for even j; Q5_K adds 16
// when bit j of qh[l] is set. x = (d * scale_j) * q - dmin * min_j.
#define WeightPtr U32Ptr
float weight_at(WeightPtr w, uint row, uint K, uint k) {
#if defined(WEIGHT_Q5_K)
  const uint words = 44, qs_word = 12;
#else
  const uint words = 36, qs_word = 4;
#endif
  const uint base = (row * (K / 256) + k / 256) * words;
  const uint i = k % 256, j = i / 32, l = i % 32;
  const vec2 dm = unpackHalf2x16(wv_u32(w, base));
  float sc, m;
  k_scale_min(j, uvec3(wv_u32(w, base + 1), wv_u32(w, base + 2), wv_u32(w, base + 3)), sc, m);
  const uint qbyte = 32 * (j / 2) + l;
  uint q = (byte_of(wv_u32(w, base + qs_word + qbyte / 4), qbyte) >> (4 * (j & 1))) & 15u;
#if defined(WEIGHT_Q5_K)
  q |= ((byte_of(wv_u32(w, base + 4 + l / 4), l) >> j) & 1u) << 4;
#endif
  const float dj = dm.x * sc, mj = dm.y * m;
  precise float v = dj * float(q) - mj;
  return v;
}
#elif defined(WEIGHT_Q6_K)
// block_q6_K = { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; } = 105 halves: only 2-byte aligned, so
// read as 16-bit words. Element i = 128 h + 32 g + l (h = 0..1, g = 0..3, l = 0..31) has its low 4 bits
// in ql[64 h + 32 (g % 2) + l] (low nibble for g < 2) and its high 2 bits at bit 2g of qh[32 h + l];
// x = (d * scales[i / 16]) * (q - 32).
#define WeightPtr U16Ptr
uint byte16(U16Ptr w, uint base, uint n) { return (uint(wv_u16(w, base + n / 2)) >> (8 * (n & 1))) & 0xFFu; }
float weight_at(WeightPtr w, uint row, uint K, uint k) {
  const uint base = (row * (K / 256) + k / 256) * 105;
  const uint i = k % 256, h = i / 128, g = (i % 128) / 32, l = i % 32;
  const uint low = (byte16(w, base, 64 * h + 32 * (g & 1) + l) >> (4 * (g / 2))) & 15u;
  const uint high = (byte16(w, base, 128 + 32 * h + l) >> (2 * g)) & 3u;
  const int q = int(low | (high << 4)) - 32;
  const int sc = int(byte16(w, base, 192 + i / 16) << 24) >> 24;
  const float d = unpackHalf2x16(uint(wv_u16(w, base + 104))).x;
  return d * float(sc) * float(q);
}
#else
#error "define WEIGHT_<FORMAT> for a format of engine/model/weight_types.def"
#endif

// Blocks that are only 2-byte aligned, read as aligned 32-bit words: the 16 bits at byte o (even), and
// the 4 or 8 words at bytes o .. (o even): aligned words shifted into place, the same code for both
// alignments (no divergence between neighbouring blocks). A run that starts on a word reads no word
// past its end (the block may be the last of the buffer).
uint half_at(U32Ptr w, uint o) { return (wv_u32(w, o / 4) >> (8 * (o % 4))) & 0xFFFFu; }
#define LAGVK_BLOCK_WORDS(NAME, N)                                         \
  void NAME(U32Ptr w, uint o, out uint q[N]) {                             \
    const uint i0 = o / 4, s = 8 * (o % 4);                                \
    uint prev = wv_u32(w, i0);                                             \
    for (uint i = 0; i < N; ++i) {                                         \
      const uint next = (i + 1 < N || s != 0) ? wv_u32(w, i0 + i + 1) : 0u; \
      q[i] = (prev >> s) | ((next << 16) << (16 - s));                     \
      prev = next;                                                         \
    }                                                                      \
  }
LAGVK_BLOCK_WORDS(block_words4, 4)
LAGVK_BLOCK_WORDS(block_words8, 8)

// Chunked row access for bandwidth-bound kernels. A chunk is CHUNK consecutive elements of a row
// (CHUNK / 4 vec4 of x); load_x_chunk reads the matching x once, and chunk_dot(w, row, K, c, xs) is the
// dot product of chunk c of a weight row with it, so several rows reuse one x load. Lanes of a subgroup
// take consecutive chunks, so a subgroup streams each row contiguously with wide loads.
// VEC variants need K to be a multiple of CHUNK and 16-byte aligned rows and x (the host checks).
// CHUNK_VALUES formats also have chunk_values(w, row, K, c, v): the chunk's weights themselves, which
// kernels that dot one chunk with several x (matmul_rb) decode once.
#if defined(WEIGHT_F32) && defined(VEC)
#define CHUNK 4
#define ChunkPtr Vec4Ptr
#define CHUNK_VALUES
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 v[CHUNK / 4]) { v[0] = wv_vec4(w, row * (K / 4) + c); }
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) { return dot(wv_vec4(w, row * (K / 4) + c), xs[0]); }
#elif defined(WEIGHT_F16) && defined(VEC)
#define CHUNK 8
#define ChunkPtr U32x4Ptr
#define CHUNK_VALUES
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 v[CHUNK / 4]) {
  const uvec4 q = wv_u32x4(w, row * (K / 8) + c);
  v[0] = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
  v[1] = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
}
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uvec4 q = wv_u32x4(w, row * (K / 8) + c);
  return dot(vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)), xs[0]) +
         dot(vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)), xs[1]);
}
#elif defined(WEIGHT_BF16) && defined(VEC)
#define CHUNK 8
#define ChunkPtr U32x4Ptr
#define CHUNK_VALUES
vec4 unpack_bf16x4(uint a, uint b) {
  return vec4(uintBitsToFloat(a << 16), uintBitsToFloat(a & 0xFFFF0000u), uintBitsToFloat(b << 16),
              uintBitsToFloat(b & 0xFFFF0000u));
}
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 v[CHUNK / 4]) {
  const uvec4 q = wv_u32x4(w, row * (K / 8) + c);
  v[0] = unpack_bf16x4(q.x, q.y);
  v[1] = unpack_bf16x4(q.z, q.w);
}
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uvec4 q = wv_u32x4(w, row * (K / 8) + c);
  return dot(unpack_bf16x4(q.x, q.y), xs[0]) + dot(unpack_bf16x4(q.z, q.w), xs[1]);
}
#elif defined(WEIGHT_Q8_0)
// Blocks are 34 bytes, so only 2-byte aligned; their 32 quant bytes are read as 8 aligned words shifted
// into place (block_words), which drivers load far faster than 16-bit halves (lavapipe: several times).
#define CHUNK 32
#define ChunkPtr U32Ptr
#define CHUNK_VALUES
vec4 signed_bytes4(uint q) { return vec4(ivec4(int(q << 24) >> 24, int(q << 16) >> 24, int(q << 8) >> 24, int(q) >> 24)); }
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 v[CHUNK / 4]) {
  const uint b = (row * (K / 32) + c) * 34;
  uint q[8];
  block_words8(w, b + 2, q);
  const float d = unpackHalf2x16(half_at(w, b)).x;
  for (uint i = 0; i < 8; ++i) v[i] = d * signed_bytes4(q[i]);
}
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint b = (row * (K / 32) + c) * 34;  // byte offset of the block
  uint q[8];
  block_words8(w, b + 2, q);
  float s = 0.0;
  for (uint i = 0; i < 8; ++i)  // bytes 4i .. 4i + 3: signed quants of elements 4i .. 4i + 3
    s += dot(vec4(ivec4(int(q[i] << 24) >> 24, int(q[i] << 16) >> 24, int(q[i] << 8) >> 24, int(q[i]) >> 24)),
             xs[i]);
  return s * unpackHalf2x16(half_at(w, b)).x;
}
#elif defined(WEIGHT_Q4_0)
// Blocks are 18 bytes (2-byte aligned): the 16 quant bytes are read as 4 aligned words, as for Q8_0.
#define CHUNK 32
#define ChunkPtr U32Ptr
#define CHUNK_VALUES
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 v[CHUNK / 4]) {
  const uint b = (row * (K / 32) + c) * 18;
  uint q[4];
  block_words4(w, b + 2, q);
  const float d = unpackHalf2x16(half_at(w, b)).x;
  for (uint i = 0; i < 4; ++i) {
    v[i] = d * (vec4(low_nibbles(q[i])) - 8.0);
    v[4 + i] = d * (vec4(high_nibbles(q[i])) - 8.0);
  }
}
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint b = (row * (K / 32) + c) * 18;
  uint q[4];
  block_words4(w, b + 2, q);
  float s = 0.0;
  for (uint i = 0; i < 4; ++i)  // qs[4i .. 4i + 3]
    s += dot(vec4(low_nibbles(q[i])) - 8.0, xs[i]) + dot(vec4(high_nibbles(q[i])) - 8.0, xs[4 + i]);
  return s * unpackHalf2x16(half_at(w, b)).x;
}
#elif defined(WEIGHT_Q4_1) || defined(WEIGHT_Q5_1)
// One block per chunk: sum (d q + m) x = d (sum q x) + m (sum x). Blocks are 20 (Q4_1) or 24 (Q5_1)
// bytes, so every block starts on a 32-bit word and is read as whole words: d and m, [qh,] qs.
#define CHUNK 32
#define ChunkPtr U32Ptr
#define CHUNK_VALUES
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 v[CHUNK / 4]) {
#if defined(WEIGHT_Q5_1)
  const uint words = 6, qs = 2;
#else
  const uint words = 5, qs = 1;
#endif
  const uint base = (row * (K / 32) + c) * words;
#if defined(WEIGHT_Q5_1)
  const uint qh = wv_u32(w, base + 1);
#endif
  const vec2 dm = unpackHalf2x16(wv_u32(w, base));
  for (uint i = 0; i < 4; ++i) {
    const uint b = wv_u32(w, base + qs + i);  // qs[4i .. 4i+3]
    uvec4 lo = low_nibbles(b), hi = high_nibbles(b);
#if defined(WEIGHT_Q5_1)
    lo |= fifth_bits(qh, 4 * i);
    hi |= fifth_bits(qh, 16 + 4 * i);
#endif
    v[i] = dm.x * vec4(lo) + dm.y;
    v[4 + i] = dm.x * vec4(hi) + dm.y;
  }
}
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
#if defined(WEIGHT_Q5_1)
  const uint words = 6, qs = 2;
#else
  const uint words = 5, qs = 1;
#endif
  const uint base = (row * (K / 32) + c) * words;
#if defined(WEIGHT_Q5_1)
  const uint qh = wv_u32(w, base + 1);
#endif
  float s = 0.0, sx = 0.0;
  for (uint i = 0; i < 4; ++i) {
    const uint b = wv_u32(w, base + qs + i);  // qs[4i .. 4i+3]
    uvec4 lo = low_nibbles(b), hi = high_nibbles(b);
#if defined(WEIGHT_Q5_1)
    lo |= fifth_bits(qh, 4 * i);
    hi |= fifth_bits(qh, 16 + 4 * i);
#endif
    s += dot(vec4(lo), xs[i]) + dot(vec4(hi), xs[4 + i]);
    sx += dot(xs[i], vec4(1.0)) + dot(xs[4 + i], vec4(1.0));
  }
  const vec2 dm = unpackHalf2x16(wv_u32(w, base));
  return dm.x * s + dm.y * sx;
}
#elif defined(WEIGHT_Q5_0)
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 32) + c) * 11;
  const uint qh = word16(w, base + 1);
  float s = 0.0;
  for (uint i = 0; i < 4; ++i) {
    const uint b = word16(w, base + 3 + 2 * i);  // qs[4i .. 4i+3]
    const vec4 lo = vec4(low_nibbles(b) | fifth_bits(qh, 4 * i)) - 16.0;
    const vec4 hi = vec4(high_nibbles(b) | fifth_bits(qh, 16 + 4 * i)) - 16.0;
    s += dot(lo, xs[i]) + dot(hi, xs[4 + i]);
  }
  return s * unpackHalf2x16(uint(wv_u16(w, base))).x;
}
#elif defined(WEIGHT_IQ4_NL)
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 32) + c) * 9;
  float s = 0.0;
  for (uint i = 0; i < 4; ++i) {
    const uint b = word16(w, base + 1 + 2 * i);  // qs[4i .. 4i+3]
    s += dot(iq4nl_levels(low_nibbles(b)), xs[i]) + dot(iq4nl_levels(high_nibbles(b)), xs[4 + i]);
  }
  return s * unpackHalf2x16(uint(wv_u16(w, base))).x;
}
#elif defined(WEIGHT_IQ4_XS)
// A chunk is one 32-element sub-block (c % 8 of super-block c / 8): its 16 quant bytes are 4 words.
#define CHUNK 32
#define ChunkPtr U32Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 256) + c / 8) * 34;
  const uint ib = c % 8;
  float s = 0.0;
  for (uint i = 0; i < 4; ++i) {
    const uint b = wv_u32(w, base + 2 + 4 * ib + i);  // qs[16 ib + 4i .. 16 ib + 4i + 3]
    s += dot(iq4nl_levels(low_nibbles(b)), xs[i]) + dot(iq4nl_levels(high_nibbles(b)), xs[4 + i]);
  }
  return s * iq4_xs_scale(w, base, ib);
}
#elif defined(WEIGHT_Q2_K)
// A chunk is the 32 elements 128 n + 32 j .. (g = c % 8 = 4 n + j of super-block c / 8): sub-blocks
// 8 n + 2 j and 8 n + 2 j + 1, whose quants are bits 2j of the 32 bytes qs[32 n ..] (8 words).
#define CHUNK 32
#define ChunkPtr U32Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 256) + c / 8) * 21;
  const uint g = c % 8, n = g / 4, j = g % 4;
  float qx0 = 0.0, qx1 = 0.0, sx0 = 0.0, sx1 = 0.0;
  for (uint t = 0; t < 8; ++t) {  // bytes 4t .. 4t + 3: elements 4t .. 4t + 3 of the chunk
    const vec4 q = bytes4((wv_u32(w, base + 4 + 8 * n + t) >> (2 * j)) & 0x03030303u);
    if (t < 4) {
      qx0 += dot(q, xs[t]);
      sx0 += dot(xs[t], vec4(1.0));
    } else {
      qx1 += dot(q, xs[t]);
      sx1 += dot(xs[t], vec4(1.0));
    }
  }
  const uint s = 8 * n + 2 * j;  // even: both scales lie in one word
  const uint sc0 = byte_of(wv_u32(w, base + s / 4), s), sc1 = byte_of(wv_u32(w, base + s / 4), s + 1);
  const vec2 dm = unpackHalf2x16(wv_u32(w, base + 20));
  // sum (d sc q - dmin m) x = d sc (sum q x) - dmin m (sum x), per sub-block.
  return dm.x * (float(sc0 & 15u) * qx0 + float(sc1 & 15u) * qx1) -
         dm.y * (float(sc0 >> 4) * sx0 + float(sc1 >> 4) * sx1);
}
#elif defined(WEIGHT_Q3_K)
// A chunk is the 32 elements 128 n + 32 j .. (g = c % 8 = 4 n + j of super-block c / 8): sub-blocks
// 8 n + 2 j and 8 n + 2 j + 1; low bits at bit 2j of qs[32 n ..], third bits at bit 4 n + j of hmask[0 ..].
#define CHUNK 32
#define ChunkPtr U16Ptr
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint base = (row * (K / 256) + c / 8) * 55;
  const uint g = c % 8, n = g / 4, j = g % 4;
  float s0 = 0.0, s1 = 0.0;
  for (uint t = 0; t < 8; ++t) {  // bytes 4t .. 4t + 3 of qs[32 n ..] and hmask: chunk elements 4t ..
    const uint low = (word16(w, base + 16 + 16 * n + 2 * t) >> (2 * j)) & 0x03030303u;
    const uint high = (word16(w, base + 2 * t) >> (4 * n + j)) & 0x01010101u;
    const float part = dot(bytes4(low) + 4.0 * bytes4(high) - 4.0, xs[t]);
    if (t < 4)
      s0 += part;
    else
      s1 += part;
  }
  return q3_k_scale(w, base, 8 * n + 2 * j) * s0 + q3_k_scale(w, base, 8 * n + 2 * j + 1) * s1;
}
#elif defined(WEIGHT_Q4_K) || defined(WEIGHT_Q5_K)
// A chunk is the pair of sub-blocks 2p, 2p + 1 (p = c % 4) that share the 32 bytes qs[32p ..]: low
// nibbles for 2p, high for 2p + 1. Blocks are 9 (Q4_K) or 11 (Q5_K) uvec4: the first holds d, dmin and
// the scales, Q5_K's next two hold qh.
#define CHUNK 64
#define ChunkPtr U32x4Ptr
#define CHUNK_VALUES
void chunk_values(ChunkPtr w, uint row, uint K, uint c, out vec4 vals[CHUNK / 4]) {
#if defined(WEIGHT_Q5_K)
  const uint vecs = 11, qs_vec = 3;
#else
  const uint vecs = 9, qs_vec = 1;
#endif
  const uint base = (row * (K / 256) + c / 4) * vecs;
  const uint p = c % 4;
  const uvec4 hdr = wv_u32x4(w, base);
  const vec2 dm = unpackHalf2x16(hdr.x);
  float sc0, m0, sc1, m1;
  k_scale_min(2 * p, hdr.yzw, sc0, m0);
  k_scale_min(2 * p + 1, hdr.yzw, sc1, m1);
  const float d0 = dm.x * sc0, d1 = dm.x * sc1, n0 = dm.y * m0, n1 = dm.y * m1;
  for (uint v = 0; v < 2; ++v) {
    const uvec4 qs = wv_u32x4(w, base + qs_vec + 2 * p + v);
#if defined(WEIGHT_Q5_K)
    const uvec4 qh = wv_u32x4(w, base + 1 + v);
#endif
    for (uint e = 0; e < 4; ++e) {
      const uint i = 4 * v + e;
      uint lo = qs[e] & 0x0F0F0F0Fu, hi = (qs[e] >> 4) & 0x0F0F0F0Fu;
#if defined(WEIGHT_Q5_K)
      lo |= ((qh[e] >> (2 * p)) & 0x01010101u) << 4;
      hi |= ((qh[e] >> (2 * p + 1)) & 0x01010101u) << 4;
#endif
      vals[i] = d0 * bytes4(lo) - n0;
      vals[8 + i] = d1 * bytes4(hi) - n1;
    }
  }
}
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
#if defined(WEIGHT_Q5_K)
  const uint vecs = 11, qs_vec = 3;
#else
  const uint vecs = 9, qs_vec = 1;
#endif
  const uint base = (row * (K / 256) + c / 4) * vecs;
  const uint p = c % 4;
  const uvec4 hdr = wv_u32x4(w, base);
  const vec2 dm = unpackHalf2x16(hdr.x);
  float sc0, m0, sc1, m1;
  k_scale_min(2 * p, hdr.yzw, sc0, m0);
  k_scale_min(2 * p + 1, hdr.yzw, sc1, m1);
  float qx0 = 0.0, qx1 = 0.0, sx0 = 0.0, sx1 = 0.0;
  for (uint v = 0; v < 2; ++v) {
    const uvec4 qs = wv_u32x4(w, base + qs_vec + 2 * p + v);
#if defined(WEIGHT_Q5_K)
    const uvec4 qh = wv_u32x4(w, base + 1 + v);
#endif
    for (uint e = 0; e < 4; ++e) {
      const uint i = 4 * v + e;  // bytes 4i .. 4i + 3: elements l = 4i .. 4i + 3 of both sub-blocks
      uint lo = qs[e] & 0x0F0F0F0Fu, hi = (qs[e] >> 4) & 0x0F0F0F0Fu;
#if defined(WEIGHT_Q5_K)
      lo |= ((qh[e] >> (2 * p)) & 0x01010101u) << 4;
      hi |= ((qh[e] >> (2 * p + 1)) & 0x01010101u) << 4;
#endif
      qx0 += dot(bytes4(lo), xs[i]);
      qx1 += dot(bytes4(hi), xs[8 + i]);
      sx0 += xs[i].x + xs[i].y + xs[i].z + xs[i].w;
      sx1 += xs[8 + i].x + xs[8 + i].y + xs[8 + i].z + xs[8 + i].w;
    }
  }
  // sum (d sc q - dmin m) x = d sc (sum q x) - dmin m (sum x), per sub-block.
  return dm.x * (sc0 * qx0 + sc1 * qx1) - dm.y * (m0 * sx0 + m1 * sx1);
}
#elif defined(WEIGHT_Q6_K)
// A chunk is groups g = 2u and 2u + 1 (u = c % 2) of half h = (c % 4) / 2 of a super-block: their low
// bits are the same nibble (low for u = 0) of ql[64h ..] and ql[64h + 32 ..], their high bits bits 2g
// of the shared qh[32h ..]. Each group spans two 16-element scales.
// Blocks (210 bytes) start on a word or 2 bytes past one. Reading 16-bit halves is slow on some
// drivers (lavapipe: 5x slower than this), so runs of 32 bytes are read as 9 aligned words and
// shifted into place, the same code for both alignments (no divergence between neighbouring blocks).
#define CHUNK 64
#define ChunkPtr U32Ptr
// The 8 words at bytes n .. n + 31 (n % 4 == 0) of a block starting at byte 4 wb + m (m = 0 or 2);
// reads one word past them, which lies inside the block for every run used here.
void q6_k_run(U32Ptr w, uint wb, uint m, uint n, out uint q[8]) {
  const uint i0 = wb + n / 4, s = 8 * m;
  uint prev = wv_u32(w, i0);
  for (uint i = 0; i < 8; ++i) {
    const uint next = wv_u32(w, i0 + i + 1);
    q[i] = (prev >> s) | ((next << 16) << (16 - s));  // (16 - s) never reaches 32
    prev = next;
  }
}
// The 16 bits at byte n (even) of a block starting at byte b.
uint q6_k_half(U32Ptr w, uint b, uint n) { return (wv_u32(w, (b + n) / 4) >> (8 * ((b + n) % 4))) & 0xFFFFu; }
float chunk_dot(ChunkPtr w, uint row, uint K, uint c, vec4 xs[CHUNK / 4]) {
  const uint b = (row * (K / 256) + c / 4) * 210;  // byte offset of the block
  const uint wb = b / 4, m = b % 4;
  const uint h = (c % 4) / 2, u = c % 2;
  uint qh[8];
  q6_k_run(w, wb, m, 128 + 32 * h, qh);
  float s = 0.0;
  for (uint t = 0; t < 2; ++t) {
    const uint g = 2 * u + t;
    uint ql[8];
    q6_k_run(w, wb, m, 64 * h + 32 * t, ql);
    float s_lo = 0.0, s_hi = 0.0;
    for (uint i = 0; i < 8; ++i) {  // elements l = 4i .. 4i + 3 of group g
      const uint q = ((ql[i] >> (4 * u)) & 0x0F0F0F0Fu) | (((qh[i] >> (2 * g)) & 0x03030303u) << 4);
      const float part = dot(bytes4(q) - 32.0, xs[8 * t + i]);
      if (i < 4)
        s_lo += part;
      else
        s_hi += part;
    }
    const uint scw = q6_k_half(w, b, 192 + 8 * h + 2 * g);  // scales[8h + 2g] and scales[8h + 2g + 1]
    s += float(int(scw << 24) >> 24) * s_lo + float(int(scw << 16) >> 24) * s_hi;
  }
  return s * unpackHalf2x16(q6_k_half(w, b, 208)).x;
}
#endif

#if defined(CHUNK)
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
