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
