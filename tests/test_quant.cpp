// Quantizers: exact ggml block layouts on hand-made blocks, and round-trip error bounds per type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/model/quant.hpp"
#include "tests/support/gguf_ref.hpp"
#include "tests/support/references.hpp"

namespace lagvk {
namespace {

TEST(TensorType, LayoutsMatchGgml) {
  EXPECT_EQ(row_bytes(GgmlType::f32, 10), 40u);
  EXPECT_EQ(row_bytes(GgmlType::f16, 10), 20u);
  EXPECT_EQ(row_bytes(GgmlType::bf16, 10), 20u);
  EXPECT_EQ(row_bytes(GgmlType::q8_0, 64), 68u);
  EXPECT_EQ(row_bytes(GgmlType::q4_0, 64), 36u);
  EXPECT_EQ(row_bytes(GgmlType::q4_k, 256), 144u);
  EXPECT_EQ(row_bytes(GgmlType::q6_k, 512), 420u);
  EXPECT_THROW((void)row_bytes(GgmlType::q8_0, 33), Error);
  EXPECT_EQ(static_cast<int>(GgmlType::bf16), 30);
  EXPECT_EQ(ggml_type_name(10), "Q2_K");
  EXPECT_EQ(parse_ggml_type("q4_0"), GgmlType::q4_0);
  EXPECT_EQ(parse_ggml_type("Q8_0"), GgmlType::q8_0);
  EXPECT_EQ(parse_ggml_type("q2_k"), GgmlType::q2_k);
  EXPECT_EQ(parse_ggml_type("iq2_xxs"), std::nullopt);  // a ggml type lagvk does not read
}

TEST(Quant, Q8_0HandMadeBlockBytes) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // amax 127 -> d = 1
  x[1] = -3.4f;   // -> -3
  x[2] = 2.5f;    // roundf: away from zero -> 3
  x[3] = -0.5f;   // -> -1
  const auto b = quantize(GgmlType::q8_0, x);
  ASSERT_EQ(b.size(), 34u);
  EXPECT_EQ(b[0], 0x00);  // fp16 1.0 = 0x3C00, little-endian
  EXPECT_EQ(b[1], 0x3C);
  EXPECT_EQ(std::int8_t(b[2]), 127);
  EXPECT_EQ(std::int8_t(b[3]), -3);
  EXPECT_EQ(std::int8_t(b[4]), 3);
  EXPECT_EQ(std::int8_t(b[5]), -1);
  EXPECT_EQ(std::int8_t(b[6]), 0);
  const auto y = dequantize(GgmlType::q8_0, b, 32);
  EXPECT_EQ(y[0], 127.0f);
  EXPECT_EQ(y[1], -3.0f);
}

TEST(Quant, Q4_0HandMadeBlockBytes) {
  std::vector<float> x(32, 0.0f);
  x[5] = -16.0f;  // largest magnitude, negative: d = -16 / -8 = 2
  x[0] = 3.0f;    // 3/2 + 8.5 = 10 -> 10
  x[16] = 14.0f;  // 7 + 8.5 = 15.5 -> 15
  x[17] = -5.0f;  // -2.5 + 8.5 = 6 -> 6
  x[1] = 0.9f;    // 0.45 + 8.5 = 8.95 -> 8
  const auto b = quantize(GgmlType::q4_0, x);
  ASSERT_EQ(b.size(), 18u);
  EXPECT_EQ(b[0], 0x00);  // fp16 2.0 = 0x4000
  EXPECT_EQ(b[1], 0x40);
  EXPECT_EQ(b[2 + 0], 0xFA);  // low nibble: element 0 (10), high nibble: element 16 (15)
  EXPECT_EQ(b[2 + 1], 0x68);  // element 1 (8), element 17 (6)
  EXPECT_EQ(b[2 + 5], 0x80);  // element 5 (-16 -> 0), element 21 (0 -> 8)
  const auto y = dequantize(GgmlType::q4_0, b, 32);
  EXPECT_EQ(y[5], -16.0f);
  EXPECT_EQ(y[0], 4.0f);
  EXPECT_EQ(y[16], 14.0f);
  EXPECT_EQ(y[17], -4.0f);
  EXPECT_EQ(y[1], 0.0f);

  // A positive extreme maps to -8 with a negative scale, so it is still exact.
  std::vector<float> p(32, 1.0f);
  p[9] = 8.0f;
  const auto yp = dequantize(GgmlType::q4_0, quantize(GgmlType::q4_0, p), 32);
  EXPECT_EQ(yp[9], 8.0f);
}

TEST(Quant, Bf16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  // 1 + 2^-8 is exactly between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(float_to_bf16(1.0f + 1.0f / 256.0f), 0x3F80);
  // 1 + 3 * 2^-8 is between 1 + 2^-7 (odd) and 1 + 2^-6: ties to even (1 + 2^-6).
  EXPECT_EQ(float_to_bf16(1.0f + 3.0f / 256.0f), 0x3F82);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_EQ(bf16_to_float(0xC000), -2.0f);
}

struct RoundTripCase {
  GgmlType type;
  double max_rel_to_amax;  ///< per-element error bound relative to the block's largest magnitude
};

// quantize() encodes a large tensor on several threads, ranges of whole blocks each: the bytes must be
// those quantize_row writes on one thread, for every format.
TEST(Quant, ALargeTensorEncodesToTheBytesOfOneThread) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values((std::size_t(1) << 18) + 256 * 7);  // above the threshold, blocks unevenly split
  for (auto& v : values) v = normal(rng);
  for (const auto& info : kGgmlTypes) {
    if (!can_quantize(info.type)) continue;
    std::vector<std::uint8_t> serial(row_bytes(info.type, values.size()));
    quantize_row(info.type, values, serial);
    EXPECT_EQ(quantize(info.type, values), serial) << info.name;
  }
}

TEST(Quant, RoundTripErrorBounds) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(32 * 64);
  for (auto& v : x) v = dist(rng);
  // Q8_0: half a step of amax/127 plus fp16 scale rounding. Q4_0: a whole step of amax/8 where the
  // opposite extreme clamps from +8 to +7, else half a step. F16: 2^-11 relative. BF16: 2^-8 relative.
  const RoundTripCase cases[] = {
      {GgmlType::f32, 0.0},
      {GgmlType::f16, 1.0 / 2048},
      {GgmlType::bf16, 1.0 / 256},
      {GgmlType::q8_0, 0.5 / 127 + 1e-3},
      {GgmlType::q4_0, 1.0 / 8 + 1e-3},
  };
  for (const auto& c : cases) {
    const auto y = dequantize(c.type, quantize(c.type, x), x.size());
    double worst = 0.0, sq = 0.0;
    for (std::size_t b = 0; b < x.size() / 32; ++b) {
      float amax = 0.0f;
      for (std::size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      for (std::size_t j = 0; j < 32; ++j) {
        const double e = std::fabs(double(y[b * 32 + j]) - double(x[b * 32 + j]));
        const double scale = is_quantized(c.type) ? amax : std::fabs(x[b * 32 + j]);
        worst = std::max(worst, e / std::max(scale, 1e-30));
        sq += e * e;
      }
    }
    EXPECT_LE(worst, c.max_rel_to_amax) << ggml_type_name(c.type);
    const double rmse = std::sqrt(sq / double(x.size()));
    std::printf("%s: worst error / scale %.5f, rmse %.5f\n", ggml_type_name(c.type).c_str(), worst, rmse);
  }
}

TEST(Quant, AllZeroBlocksStayZero) {
  std::vector<float> x(64, 0.0f);
  for (auto t : {GgmlType::q8_0, GgmlType::q4_0}) {
    const auto y = dequantize(t, quantize(t, x), x.size());
    for (float v : y) EXPECT_EQ(v, 0.0f);
  }
}

TEST(Quant, RejectsBadLengthsAndUnsupportedTypes) {
  std::vector<float> x(33);
  std::vector<std::uint8_t> out(100);
  EXPECT_THROW(quantize_row(GgmlType::q8_0, x, out), Error);
  std::vector<float> y(255);
  EXPECT_THROW((void)quantize(GgmlType::q6_k, y), Error);  // not a whole super-block
}

}  // namespace
}  // namespace lagvk

namespace lagvk {
namespace {

// K-quant blocks built by hand from the layout, decoded element by element.
TEST(Quant, Q4_KHandMadeBlock) {
  std::vector<std::uint8_t> b(144, 0);
  b[0] = 0x00, b[1] = 0x3C;  // d = 1
  b[2] = 0x00, b[3] = 0x38;  // dmin = 0.5
  std::uint8_t* scales = &b[4];
  scales[0] = 2;  // sub-block 0: scale 2
  scales[4] = 4;  //              min 4
  // Sub-block 5: scale 35 = 0b10'0011 (low nibble in scales[9], top bits in scales[1] bits 6-7),
  // min 17 = 0b01'0001 (high nibble of scales[9], top bits in scales[5] bits 6-7).
  scales[9] = 0x13;
  scales[1] = 0x80;
  scales[5] = 0x40;
  std::uint8_t* qs = &b[16];
  qs[3] = 0x07;        // sub-block 0 (low nibbles of qs[0..31]), element 3: q = 7
  qs[64 + 10] = 0x90;  // sub-block 5 (high nibbles of qs[64..95]), element 10: q = 9
  const auto y = dequantize(GgmlType::q4_k, b, 256);
  EXPECT_EQ(y[3], 2.0f * 7 - 0.5f * 4);
  EXPECT_EQ(y[0], -2.0f);  // q = 0: just the min
  EXPECT_EQ(y[5 * 32 + 10], 35.0f * 9 - 0.5f * 17);
  EXPECT_EQ(y[32 + 3], 0.0f);  // sub-block 1: scale 0, min 0
}

TEST(Quant, Q5_KHighBitsAddSixteen) {
  std::vector<std::uint8_t> b(176, 0);
  b[1] = 0x3C;  // d = 1, dmin = 0
  std::uint8_t* scales = &b[4];
  scales[2] = 1;
  scales[3] = 3;
  std::uint8_t* qh = &b[16];
  std::uint8_t* qs = &b[48];
  qs[32 + 4] = 0x52;  // sub-block 2 (low nibble): 2; sub-block 3 (high nibble): 5
  qh[4] = 0x08;       // bit 3: sub-block 3 gets +16
  const auto y = dequantize(GgmlType::q5_k, b, 256);
  EXPECT_EQ(y[2 * 32 + 4], 1.0f * 2);
  EXPECT_EQ(y[3 * 32 + 4], 3.0f * 21);
}

// 32-element blocks built by hand from the layouts: element j (0..15) is the low nibble of qs[j],
// element j + 16 the high nibble; 5-bit types take bit 4 of element e from bit e of qh (little-endian).
TEST(Quant, Q4_1HandMadeBlock) {
  std::vector<std::uint8_t> b(20, 0);
  b[1] = 0x38;               // d = 0.5
  b[2] = 0x00, b[3] = 0xC0;  // m = -2
  b[4 + 3] = 0xB7;           // element 3: 7, element 19: 11
  const auto y = dequantize(GgmlType::q4_1, b, 32);
  EXPECT_EQ(y[3], 0.5f * 7 - 2.0f);
  EXPECT_EQ(y[19], 0.5f * 11 - 2.0f);
  EXPECT_EQ(y[0], -2.0f);  // q = 0: just the minimum
}

TEST(Quant, Q5_0AndQ5_1HighBitsAddSixteen) {
  std::vector<std::uint8_t> q5_0(22, 0);
  q5_0[1] = 0x3C;      // d = 1
  q5_0[2 + 0] = 0x02;  // qh bit 1: element 1 gets +16
  q5_0[2 + 2] = 0x04;  // qh bit 18: element 18 gets +16
  q5_0[6 + 1] = 0x03;  // element 1: 3
  q5_0[6 + 2] = 0x50;  // element 18: 5
  const auto y0 = dequantize(GgmlType::q5_0, q5_0, 32);
  EXPECT_EQ(y0[1], float(3 + 16 - 16));
  EXPECT_EQ(y0[18], float(5 + 16 - 16));
  EXPECT_EQ(y0[0], -16.0f);  // all bits zero: q = -16
  std::vector<std::uint8_t> q5_1(24, 0);
  q5_1[1] = 0x38;                  // d = 0.5
  q5_1[2] = 0x00, q5_1[3] = 0x3C;  // m = 1
  q5_1[4 + 3] = 0x80;              // qh bit 31: element 31 gets +16
  q5_1[8 + 15] = 0xF0;             // element 31: 15
  const auto y1 = dequantize(GgmlType::q5_1, q5_1, 32);
  EXPECT_EQ(y1[31], 0.5f * 31 + 1.0f);
  EXPECT_EQ(y1[15], 1.0f);
}

TEST(Quant, Iq4_NlUsesTheNonUniformGrid) {
  std::vector<std::uint8_t> b(18, 0);
  b[1] = 0x38;      // d = 0.5
  b[2 + 0] = 0xF0;  // element 0: level 0 (-127), element 16: level 15 (113)
  b[2 + 5] = 0x78;  // element 5: level 8 (1), element 21: level 7 (-10)
  const auto y = dequantize(GgmlType::iq4_nl, b, 32);
  EXPECT_EQ(y[0], 0.5f * -127);
  EXPECT_EQ(y[16], 0.5f * 113);
  EXPECT_EQ(y[5], 0.5f * 1);
  EXPECT_EQ(y[21], 0.5f * -10);
}

TEST(Quant, Iq4_XsSubBlockScales) {
  std::vector<std::uint8_t> b(136, 0);
  b[1] = 0x38;  // d = 0.5
  // Sub-block 0: ls = 0x1 | 0b10 << 4 = 33 (scale 1); sub-block 3: ls = 0xF | 0b01 << 4 = 31 (scale -1).
  b[2] = 0x02 | (0x01 << 6);  // scales_h bits 0-1 (sub-block 0) and 6-7 (sub-block 3)
  b[4 + 0] = 0x01;            // scales_l[0] low nibble: sub-block 0
  b[4 + 1] = 0xF0;            // scales_l[1] high nibble: sub-block 3
  b[8 + 2] = 0xF0;            // sub-block 0, element 2: level 0 (-127); element 18: level 15 (113)
  b[8 + 48 + 5] = 0x09;       // sub-block 3, element 5: level 9 (13)
  const auto y = dequantize(GgmlType::iq4_xs, b, 256);
  EXPECT_EQ(y[2], 0.5f * 1 * -127);
  EXPECT_EQ(y[18], 0.5f * 1 * 113);
  EXPECT_EQ(y[96 + 5], 0.5f * -1 * 13);
  EXPECT_EQ(y[32], 0.5f * -32 * -127);  // sub-block 1: every bit zero, ls = 0 (scale -32), level 0
}

TEST(Quant, Q2_KHandMadeBlock) {
  std::vector<std::uint8_t> b(84, 0);
  b[80] = 0x00, b[81] = 0x38;  // d = 0.5
  b[82] = 0x00, b[83] = 0x3C;  // dmin = 1
  b[0] = 0x23;                 // sub-block 0 (elements 0-15): scale 3, min 2
  b[13] = 0x1F;                // sub-block 13 = 8 * 1 + 2 * 2 + 1: elements 128 + 64 + 16 ..; scale 15, min 1
  b[16 + 5] = 0x03;            // qs[5] bits 0-1: element 5 (n 0, j 0, h 0) has q = 3
  b[16 + 32 + 16 + 7] = 0x20;  // qs[55] bits 4-5: element 128 + 64 + 16 + 7 (n 1, j 2, h 1) has q = 2
  const auto y = dequantize(GgmlType::q2_k, b, 256);
  EXPECT_EQ(y[5], 0.5f * 3 * 3 - 1.0f * 2);
  EXPECT_EQ(y[0], -2.0f);  // q = 0: just the min
  EXPECT_EQ(y[128 + 64 + 16 + 7], 0.5f * 15 * 2 - 1.0f * 1);
}

TEST(Quant, Q3_KHandMadeBlock) {
  std::vector<std::uint8_t> b(110, 0);
  b[108] = 0x00, b[109] = 0x38;  // d = 0.5
  std::uint8_t* scales = &b[96];
  // Sub-block 0: scale 0b10'0011 = 35 (low nibble of scales[0], bits 0-1 of scales[8]): 35 - 32 = 3.
  scales[0] = 0x03;
  scales[8] = 0x02;
  // Sub-block 13 (= 8 * 1 + 2 * 2 + 1): high nibble of scales[5], bits 6-7 of scales[9]: 0b00'0001 = 1,
  // so 1 - 32 = -31.
  scales[5] = 0x10;
  std::uint8_t* hmask = &b[0];
  std::uint8_t* qs = &b[32];
  qs[5] = 0x02;            // element 5 (n 0, j 0, h 0): low bits 2
  hmask[5] = 0x01;         // bit 0 set: q = 2
  qs[32 + 16 + 7] = 0x10;  // element 128 + 64 + 16 + 7 (n 1, j 2, h 1): low bits (bits 4-5) 1
  // hmask[16 + 7] bit 4 * 1 + 2 = 6 clear: q = 1 - 4 = -3
  const auto y = dequantize(GgmlType::q3_k, b, 256);
  EXPECT_EQ(y[5], 0.5f * 3 * 2);
  EXPECT_EQ(y[0], 0.5f * 3 * -4);  // all bits clear: q = -4
  EXPECT_EQ(y[128 + 64 + 16 + 7], 0.5f * -31 * -3);
}

TEST(Quant, Q6_KHandMadeBlock) {
  std::vector<std::uint8_t> b(210, 0);
  b[208] = 0x00, b[209] = 0x38;  // d = 0.5
  auto* sc = reinterpret_cast<std::int8_t*>(&b[192]);
  sc[0] = 1;
  sc[13] = -3;              // half 1, k = 2, l in 16..31: scales[8 + 1 + 4]
  b[64 + 20] = 0xA0;        // half 1 ql[20] high nibble (k = 2): 10
  b[128 + 32 + 20] = 0x20;  // half 1 qh[20] bits 4-5 (k = 2): 2
  const auto y = dequantize(GgmlType::q6_k, b, 256);
  EXPECT_EQ(y[0], 0.5f * 1 * -32);  // all bits zero: q = -32
  EXPECT_EQ(y[128 + 64 + 20], 0.5f * -3 * (10 + 32 - 32));
  EXPECT_EQ(y[128 + 64 + 4], 0.0f);  // scales[8 + 0 + 4] = 0
}

TEST(Quant, KQuantRoundTripErrorBounds) {
  std::mt19937_64 rng(21);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(256 * 32);
  for (auto& v : x) v = dist(rng);
  // RMS error of unit-variance data: a step is about (sub-block range) / levels, its RMS error
  // step / sqrt(12), plus what rounding the 6/8-bit scales adds.
  for (auto [type, bound] :
       {std::pair{GgmlType::q4_k, 0.12}, std::pair{GgmlType::q5_k, 0.06}, std::pair{GgmlType::q6_k, 0.035},
        // 32-element blocks: a step of (block range) / levels, or IQ4_NL's grid (about 1/9 of the range
        // between its middle levels).
        std::pair{GgmlType::q4_1, 0.12}, std::pair{GgmlType::q5_0, 0.06}, std::pair{GgmlType::q5_1, 0.06},
        std::pair{GgmlType::iq4_nl, 0.12}, std::pair{GgmlType::iq4_xs, 0.12},
        // 2 bits: four levels over a 16-element sub-block's range.
        std::pair{GgmlType::q2_k, 0.4}, std::pair{GgmlType::q3_k, 0.25}}) {
    const auto bytes = quantize(type, x);
    ASSERT_EQ(bytes.size(), row_bytes(type, x.size()));
    const auto y = dequantize(type, bytes, x.size());
    double sq = 0, worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      sq += double(y[i] - x[i]) * double(y[i] - x[i]);
      worst = std::max(worst, double(std::fabs(y[i] - x[i])));
    }
    const double rmse = std::sqrt(sq / double(x.size()));
    std::printf("%s: rmse %.4f, worst %.4f\n", ggml_type_name(type).c_str(), rmse, worst);
    EXPECT_LT(rmse, bound) << ggml_type_name(type);
    EXPECT_LT(worst, 8 * bound) << ggml_type_name(type);
  }
  std::vector<float> zeros(256, 0.0f);
  for (auto t : {GgmlType::q4_k, GgmlType::q5_k, GgmlType::q6_k, GgmlType::q4_1, GgmlType::q5_0,
                 GgmlType::q5_1, GgmlType::iq4_nl, GgmlType::iq4_xs, GgmlType::q2_k, GgmlType::q3_k})
    for (float v : dequantize(t, quantize(t, zeros), 256)) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace lagvk

namespace lagvk {
// Names the type in gtest's messages ("GetParam() = Q5_K"); found by argument-dependent lookup.
[[maybe_unused]] static void PrintTo(GgmlType type, std::ostream* os) {
  *os << ggml_type_name(type);
}
}  // namespace lagvk

namespace lagvk::test {
namespace {

// Every format lagvk decodes, judged by an outside decoder (llama.cpp's gguf-py) on blocks no encoder
// writes: random quants and packed scales (K-quant sub-blocks 0-7 with distinct 6-bit scales and
// minimums, the high bits of the packing set), scales and minimums of both signs, fp16 scales at their
// limits. The hand-made blocks above check one or two elements each; these check every bit.
class QuantVsGgufPy : public ::testing::TestWithParam<GgmlType> {};

/// Every format of weight_types.def: a new one is compared with gguf-py without a line here.
std::vector<GgmlType> every_type() {
  std::vector<GgmlType> out;
  for (const auto& t : kGgmlTypes) out.push_back(t.type);
  return out;
}

TEST_P(QuantVsGgufPy, DecoderMatchesOnAwkwardBlocks) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  const GgmlType type = GetParam();
  constexpr std::size_t kBlocks = 96;
  const auto blocks = awkward_blocks(type, kBlocks, 1000 + std::uint64_t(type), /*extreme_scales=*/true);
  const std::size_t n = awkward_elements(type, kBlocks);
  ASSERT_EQ(blocks.size(), row_bytes(type, n));
  const auto ours = dequantize(type, blocks, n);
  const auto theirs = gguf_ref_dequantize(type, blocks);
  ASSERT_EQ(theirs.size(), n);
  std::size_t mismatches = 0, first = n;
  for (std::size_t i = 0; i < n; ++i) {
    // Both decoders multiply in float in ggml's order: the values must be identical.
    if (ours[i] != theirs[i] && !(std::isnan(ours[i]) && std::isnan(theirs[i]))) {
      if (mismatches++ == 0) first = i;
    }
  }
  const std::size_t block = is_quantized(type) ? type_info(type).block_size : 1;
  EXPECT_EQ(mismatches, 0u) << ggml_type_name(type) << ": first mismatch at element " << first << " (block "
                            << first / block << ", element " << first % block << "): lagvk "
                            << (first < n ? ours[first] : 0.0f) << ", gguf-py "
                            << (first < n ? theirs[first] : 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantVsGgufPy, ::testing::ValuesIn(every_type()),
                         [](const ::testing::TestParamInfo<GgmlType>& p) { return ggml_type_name(p.param); });

// The awkward blocks really are awkward: minimums of both signs and zero, extreme scales, all-ones
// scale packing; otherwise the comparison above could pass on easy blocks.
TEST(AwkwardBlocks, CoverSignsExtremesAndPackedHighBits) {
  const auto q5 = awkward_blocks(GgmlType::q5_k, 96, 7, /*extreme_scales=*/true);
  int negative_min = 0, positive_min = 0, zero_min = 0, max_scale = 0, all_ones = 0, high_bits = 0;
  for (std::size_t b = 0; b < 96; ++b) {
    const std::uint8_t* blk = &q5[b * 176];
    const std::uint16_t dmin = std::uint16_t(blk[2] | blk[3] << 8), d = std::uint16_t(blk[0] | blk[1] << 8);
    if (dmin == 0)
      ++zero_min;
    else if (dmin & 0x8000)
      ++negative_min;
    else
      ++positive_min;
    if ((d & 0x7FFF) == 0x7BFF) ++max_scale;
    bool ones = true;
    for (int i = 4; i < 16; ++i) ones = ones && blk[i] == 0xFF;
    all_ones += ones;
    // Sub-blocks 4-7 take their top scale bits from bytes 0-3 and top minimum bits from bytes 4-7.
    for (int i = 4; i < 12; ++i) high_bits += (blk[i] >> 6) != 0;
  }
  EXPECT_GT(negative_min, 10);
  EXPECT_GT(positive_min, 10);
  EXPECT_GT(zero_min, 5);
  EXPECT_GT(max_scale, 1);
  EXPECT_GT(all_ones, 10);
  EXPECT_GT(high_bits, 96 * 4);
}

// The traits table (engine/model/weight_types.def) against gguf-py's: the same ggml id and block shape
// for every format lagvk lists, so a mistyped entry cannot pass.
TEST(WeightTypeTraits, MatchGgufPy) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  for (const GgmlTypeInfo& t : kGgmlTypes) {
    SCOPED_TRACE(std::string(t.name));
    const GgufRefTypeTraits theirs = gguf_ref_type_traits(t.name);
    EXPECT_EQ(static_cast<std::uint32_t>(t.type), theirs.id);
    EXPECT_EQ(t.block_size, theirs.block_elements);
    EXPECT_EQ(t.bytes_per_block, theirs.block_bytes);
    EXPECT_EQ(parse_ggml_type(t.lower_name), t.type);
    // The vectorised kernels' chunk is whole blocks or a whole fraction of one (kernels pick it by K).
    if (t.chunk_elements > 0) {
      EXPECT_TRUE(t.chunk_elements % t.block_size == 0 || t.block_size % t.chunk_elements == 0);
    }
  }
}

// Every format the traits call writable is encoded, and its encoding decodes near the input (RMS error
// below half the data's spread; 2-bit Q2_K is the coarsest).
TEST(WeightTypeTraits, WritableFormatsRoundTrip) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(512);
  for (auto& v : x) v = dist(rng);
  for (const GgmlTypeInfo& t : kGgmlTypes) {
    SCOPED_TRACE(std::string(t.name));
    ASSERT_TRUE(t.writable);  // every format today; a read-only one would be skipped here
    const auto y = dequantize(t.type, quantize(t.type, x), x.size());
    double sq = 0;
    for (std::size_t i = 0; i < x.size(); ++i) sq += double(y[i] - x[i]) * double(y[i] - x[i]);
    EXPECT_LT(std::sqrt(sq / double(x.size())), 0.5);
  }
}

// Q4_1, Q5_0 and Q5_1 follow ggml's reference quantizers exactly: lagvk's bytes are gguf-py's (a port of
// the same algorithm) for random blocks and awkward ones: constant blocks (zero scale), one-signed
// blocks, blocks whose extreme is negative, and values at exact rounding midpoints.
TEST(Quant32VsGgufPy, EncoderMatchesByteForByte) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  std::mt19937_64 rng(77);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(32 * 64);
  for (auto& v : x) v = dist(rng);
  for (std::size_t j = 0; j < 32; ++j) {
    x[j] = 0.0f;                          // block 0: all zero
    x[32 + j] = 1.5f;                     // block 1: constant
    x[64 + j] = 0.25f * float(j) - 3.0f;  // block 2: a ramp of exact steps (midpoints)
    x[96 + j] = std::fabs(x[96 + j]);     // block 3: all positive
    x[128 + j] = -std::fabs(x[128 + j]);  // block 4: all negative
  }
  x[160 + 7] = -40.0f;  // block 5: a negative extreme
  for (GgmlType type : {GgmlType::q4_1, GgmlType::q5_0, GgmlType::q5_1}) {
    SCOPED_TRACE(ggml_type_name(type));
    const auto ours = quantize(type, x);
    const auto theirs = gguf_ref_quantize(type, x);
    ASSERT_EQ(ours.size(), theirs.size());
    const std::size_t bytes = type_info(type).bytes_per_block;
    for (std::size_t i = 0; i < ours.size(); ++i)
      ASSERT_EQ(int(ours[i]), int(theirs[i])) << "byte " << i % bytes << " of block " << i / bytes;
  }
}

}  // namespace
}  // namespace lagvk::test
