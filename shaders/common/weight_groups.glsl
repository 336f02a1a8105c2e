// 16-byte aligned runs of blocks, for kernels compiled with TEXEL_GROUPS (32-element block formats read
// through texel views; include after weights.glsl). Blocks of BLOCK_BYTES bytes are only 2-byte aligned,
// but TEXEL_GROUP consecutive ones fill whole 16-byte texels, and a row whose length is a multiple of
// TEXEL_GROUP blocks starts on a texel. A lane that takes whole groups finds block j of its group at a
// byte offset fixed when its loop over j is unrolled: it fetches the block's 16-byte texels (llvmpipe
// fetches a 16-byte texel for about the cost of a 4-byte one, and a 34-byte Q8_0 block read as 4-byte
// words costs 9 fetches) and shifts words into place by constant amounts. The host derives the same
// group size from the block size (engine/ops/weight_format.hpp: texel_group_blocks) and takes this
// variant only for rows that are whole groups.
//
// group_chunk_dot(w, row, K, g, j, xs, xsum, carry) is chunk_dot of chunk TEXEL_GROUP g + j; xsum is the
// sum of xs, shared by the rows a lane computes, and carry holds the row's last texel fetched (see
// group_block_words). Formats without their own version use chunk_dot.
#if !defined(BLOCK_BYTES)
#error "TEXEL_GROUPS kernels need BLOCK_BYTES (shaders.cmake passes each format's block size)"
#endif
#define TEXEL_GROUP ((BLOCK_BYTES % 16 == 0) ? 1u : (BLOCK_BYTES % 8 == 0) ? 2u : (BLOCK_BYTES % 4 == 0) ? 4u : 8u)
#define GROUP_TEXELS (TEXEL_GROUP * BLOCK_BYTES / 16)

// The texels holding block j of group g of a row as 12 words (unused ones zero); returns the block's
// byte offset in the first of them. Reads no texel past the block. `carry` passes the last texel of
// block j - 1 to block j: when both blocks share it, it is not fetched again (Q8_0: 17 fetches per group
// instead of 24).
uint group_block_words(uint row, uint K, uint g, uint j, out uint w[12], inout uvec4 carry) {
  const uint b = BLOCK_BYTES * j;
  const uint t = (row * (K / (32 * TEXEL_GROUP)) + g) * GROUP_TEXELS + b / 16;
  const uint o = b % 16;
  const uint n = (o + BLOCK_BYTES + 15) / 16;
  const bool reuse = j > 0 && (b - 1) / 16 == b / 16;  // block j - 1 ends in this block's first texel
  for (uint i = 0; i < 3; ++i) {
    uvec4 v = uvec4(0);
    if (i == 0 && reuse)
      v = carry;
    else if (i < n)
      v = weight_texel(t + i);
    if (i + 1 == n) carry = v;
    w[4 * i] = v.x;
    w[4 * i + 1] = v.y;
    w[4 * i + 2] = v.z;
    w[4 * i + 3] = v.w;
  }
  return o;
}

// Bytes p .. p + 3 of such a run (p known at compile time, any alignment): each is shifted out of its own
// word, which costs no more than unpacking an aligned word and saves joining unaligned words first.
vec4 run_signed_bytes4(uint w[12], uint p) {
  vec4 v;
  for (uint e = 0; e < 4; ++e) v[e] = float(int(w[(p + e) / 4] << (24 - 8 * ((p + e) % 4))) >> 24);
  return v;
}
vec4 run_nibbles4(uint w[12], uint p, uint high) {
  vec4 v;
  for (uint e = 0; e < 4; ++e) v[e] = float((w[(p + e) / 4] >> (8 * ((p + e) % 4) + 4 * high)) & 0xFu);
  return v;
}
// The 16 bits at byte p (even).
uint run_half(uint w[12], uint p) { return (w[p / 4] >> (8 * (p % 4))) & 0xFFFFu; }
// The dot product of x with the 32 quants of a block's qs[16] at byte p: element j < 16 is the low
// nibble of qs[j], element j + 16 the high one.
float run_nibbles_dot(uint w[12], uint p, vec4 xs[CHUNK / 4]) {
  float s = 0.0;
  for (uint i = 0; i < 4; ++i)  // qs[4i .. 4i + 3]: elements 4i .. and 16 + 4i ..
    s += dot(run_nibbles4(w, p + 4 * i, 0), xs[i]) + dot(run_nibbles4(w, p + 4 * i, 1), xs[4 + i]);
  return s;
}

#if defined(WEIGHT_Q8_0)
float group_chunk_dot(ChunkPtr w, uint row, uint K, uint g, uint j, vec4 xs[CHUNK / 4], float xsum,
                      inout uvec4 carry) {
  uint q[12];
  const uint o = group_block_words(row, K, g, j, q, carry);
  float s = 0.0;
  for (uint i = 0; i < 8; ++i) s += dot(run_signed_bytes4(q, o + 2 + 4 * i), xs[i]);
  return s * unpackHalf2x16(run_half(q, o)).x;
}
#elif defined(WEIGHT_Q4_0)
// sum d (q - 8) x = d (sum q x - 8 sum x).
float group_chunk_dot(ChunkPtr w, uint row, uint K, uint g, uint j, vec4 xs[CHUNK / 4], float xsum,
                      inout uvec4 carry) {
  uint q[12];
  const uint o = group_block_words(row, K, g, j, q, carry);
  return unpackHalf2x16(run_half(q, o)).x * (run_nibbles_dot(q, o + 2, xs) - 8.0 * xsum);
}
#elif defined(WEIGHT_Q4_1)
// sum (d q + m) x = d (sum q x) + m (sum x).
float group_chunk_dot(ChunkPtr w, uint row, uint K, uint g, uint j, vec4 xs[CHUNK / 4], float xsum,
                      inout uvec4 carry) {
  uint q[12];
  const uint o = group_block_words(row, K, g, j, q, carry);
  const vec2 dm = unpackHalf2x16(q[o / 4]);  // blocks start on words
  return dm.x * run_nibbles_dot(q, o + 4, xs) + dm.y * xsum;
}
#else
float group_chunk_dot(ChunkPtr w, uint row, uint K, uint g, uint j, vec4 xs[CHUNK / 4], float xsum,
                      inout uvec4 carry) {
  return chunk_dot(w, row, K, g * TEXEL_GROUP + j, xs);
}
#endif
