// GGUF reader and writer: every value type round-trips, layout facts of the format hold (magic,
// alignment, offsets), and damaged files of every kind give lagvk::Error and nothing else.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/model.hpp"
#include "engine/model/quant.hpp"
#include "engine/model/random_model.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace lagvk {
namespace {

std::vector<std::uint8_t> f32_bytes(std::span<const float> v) {
  std::vector<std::uint8_t> out(v.size_bytes());
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> ramp(std::size_t n, float step, float start) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + step * float(i);
  return v;
}

GgufWriter sample_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set("k.u8", GgufValue::u8(200));
  w.set("k.i8", GgufValue::i8(-100));
  w.set("k.u16", GgufValue::u16(60000));
  w.set("k.i16", GgufValue::i16(-30000));
  w.set_u32("k.u32", 4000000000u);
  w.set_i32("k.i32", -2000000000);
  w.set_f32("k.f32", 1.5f);
  w.set_bool("k.bool", true);
  w.set("k.u64", GgufValue::u64(1ull << 40));
  w.set("k.i64", GgufValue::i64(-(1ll << 40)));
  w.set("k.f64", GgufValue::f64(0.1));
  const std::vector<std::string> strs = {"a", "", "\xe2\x96\x81the"};
  w.set_string_array("k.strs", strs);
  const std::vector<float> fl = {0.5f, -2.0f};
  w.set_f32_array("k.f32s", fl);
  w.set("k.nested",
        GgufValue::array(GgufValueType::array,
                         {GgufValue::array(GgufValueType::i32, {GgufValue::i32(1), GgufValue::i32(2)}),
                          GgufValue::array(GgufValueType::i32, {})}));
  w.add_tensor("a.q8", {32, 2}, GgmlType::q8_0, quantize(GgmlType::q8_0, ramp(64, 0.25f, -3.0f)));
  w.add_tensor("b.f32", {7}, GgmlType::f32, f32_bytes(ramp(7, 1.0f, 0.0f)));
  w.add_tensor("c.f16", {2, 2, 2}, GgmlType::f16, quantize(GgmlType::f16, ramp(8, 0.5f, -1.0f)));
  return w;
}

TEST(Gguf, EveryMetadataTypeRoundTrips) {
  const auto f = GgufFile::from_bytes(sample_writer().to_bytes());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get("k.u8").type, GgufValueType::u8);
  EXPECT_EQ(f.get_u32("k.u8"), 200u);
  EXPECT_EQ(f.get_i32("k.i8"), -100);
  EXPECT_EQ(f.get_u32("k.u16"), 60000u);
  EXPECT_EQ(f.get_i32("k.i16"), -30000);
  EXPECT_EQ(f.get_u32("k.u32"), 4000000000u);
  EXPECT_EQ(f.get_i32("k.i32"), -2000000000);
  EXPECT_EQ(f.get_f32("k.f32"), 1.5f);
  EXPECT_TRUE(f.get_bool("k.bool"));
  EXPECT_EQ(f.get_u64("k.u64"), 1ull << 40);
  EXPECT_EQ(std::get<std::int64_t>(f.get("k.i64").data), -(1ll << 40));
  EXPECT_EQ(f.get("k.f64").type, GgufValueType::f64);
  EXPECT_EQ(std::get<double>(f.get("k.f64").data), 0.1);
  EXPECT_EQ(f.get_string_array("k.strs"), (std::vector<std::string>{"a", "", "\xe2\x96\x81the"}));
  EXPECT_EQ(f.get_f32_array("k.f32s"), (std::vector<float>{0.5f, -2.0f}));
  const auto& nested = std::get<GgufArray>(f.get("k.nested").data);
  ASSERT_EQ(nested.items.size(), 2u);
  EXPECT_EQ(std::get<GgufArray>(nested.items[0].data).items.size(), 2u);
  EXPECT_EQ(std::get<std::int64_t>(std::get<GgufArray>(nested.items[0].data).items[1].data), 2);
  // Metadata keeps file order.
  EXPECT_EQ(f.metadata().front().first, "general.architecture");
}

TEST(Gguf, TypedAccessorsNameTheKeyOnError) {
  const auto f = GgufFile::from_bytes(sample_writer().to_bytes());
  try {
    (void)f.get_u32("llama.block_count");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("llama.block_count"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)f.get_u32("k.i8"), Error);      // negative does not fit u32
  EXPECT_THROW((void)f.get_i32("k.u32"), Error);     // 4e9 does not fit i32
  EXPECT_THROW((void)f.get_string("k.u32"), Error);  // wrong type
  EXPECT_THROW((void)f.get_f32("k.strs"), Error);
  EXPECT_EQ(f.get_u32_opt("missing"), std::nullopt);
}

TEST(Gguf, TensorsAreAlignedAndReadBack) {
  const auto bytes = sample_writer().to_bytes();
  const auto f = GgufFile::from_bytes(bytes);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  const auto* a = f.find_tensor("a.q8");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dims, (std::vector<std::uint64_t>{32, 2}));
  EXPECT_EQ(a->n_bytes, 68u);
  const auto* b = f.find_tensor("b.f32");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->offset, 96u);  // 68 bytes of a.q8 padded to 96
  auto data = f.tensor_data(*b);
  ASSERT_EQ(data.size(), 28u);
  float v[7];
  std::memcpy(v, data.data(), 28);
  EXPECT_EQ(v[6], 6.0f);
  const auto* c = f.find_tensor("c.f16");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->offset, 128u);
  EXPECT_EQ(dequantize(GgmlType::f16, f.tensor_data(*c), 8)[7], 2.5f);
}

TEST(Gguf, HeaderBytesFollowTheFormat) {
  const auto bytes = sample_writer().to_bytes();
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "GGUF");
  std::uint32_t version;
  std::uint64_t n_tensors, n_kv;
  std::memcpy(&version, &bytes[4], 4);
  std::memcpy(&n_tensors, &bytes[8], 8);
  std::memcpy(&n_kv, &bytes[16], 8);
  EXPECT_EQ(version, 3u);
  EXPECT_EQ(n_tensors, 3u);
  EXPECT_EQ(n_kv, 15u);
}

TEST(Gguf, CustomAlignmentIsHonoured) {
  auto w = sample_writer();
  w.set_u32("general.alignment", 64);
  const auto f = GgufFile::from_bytes(w.to_bytes());
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.find_tensor("b.f32")->offset, 128u);
}

std::string error_of(std::vector<std::uint8_t> bytes) {
  try {
    (void)GgufFile::from_bytes(std::move(bytes), "bad.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Gguf, RejectsBadMagicOldVersionsAndUnknownVersions) {
  auto bytes = sample_writer().to_bytes();
  auto bad = bytes;
  bad[0] = 'X';
  EXPECT_NE(error_of(bad).find("not a GGUF file"), std::string::npos);
  for (std::uint32_t v : {1u, 2u}) {
    bad = bytes;
    std::memcpy(&bad[4], &v, 4);
    EXPECT_NE(error_of(bad).find(fmt::format("version {}", v)), std::string::npos) << error_of(bad);
  }
  const std::uint32_t v4 = 4;
  bad = bytes;
  std::memcpy(&bad[4], &v4, 4);
  EXPECT_NE(error_of(bad).find("unknown GGUF version 4"), std::string::npos);
  EXPECT_NE(error_of({}).find("only 0 bytes"), std::string::npos);
}

TEST(Gguf, NamesUnsupportedTensorTypes) {
  auto bytes = sample_writer().to_bytes();
  // The type field of the first tensor follows its name and dims; find the name and patch it.
  const std::string name = "a.q8";
  auto it = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
  ASSERT_NE(it, bytes.end());
  const std::size_t type_at = std::size_t(it - bytes.begin()) + name.size() + 4 + 2 * 8;
  const std::uint32_t iq2_xxs = 16;  // a ggml type lagvk does not read
  std::memcpy(&bytes[type_at], &iq2_xxs, 4);
  const auto msg = error_of(bytes);
  EXPECT_NE(msg.find("IQ2_XXS"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a.q8"), std::string::npos) << msg;
}

TEST(Gguf, RejectsTensorDataOutOfBoundsAndAbsurdCounts) {
  auto bytes = sample_writer().to_bytes();
  auto cut = bytes;
  cut.resize(cut.size() - 20);  // the end of c.f16 is gone
  EXPECT_NE(error_of(cut).find("c.f16"), std::string::npos) << error_of(cut);
  auto huge = bytes;
  const std::uint64_t n = 1ull << 60;
  std::memcpy(&huge[8], &n, 8);
  EXPECT_NE(error_of(huge).find("tensor count"), std::string::npos);
  huge = bytes;
  std::memcpy(&huge[16], &n, 8);
  EXPECT_NE(error_of(huge).find("metadata count"), std::string::npos);
}

// A file cut short inside its metadata (a partial download) is reported as truncated, at its size.
TEST(Gguf, ATruncatedHeaderIsReportedAsTruncated) {
  auto bytes = sample_writer().to_bytes();
  bytes.resize(40);
  const auto msg = error_of(bytes);
  EXPECT_NE(msg.find("is truncated (it ends at byte 40)"), std::string::npos) << msg;
}

TEST(Gguf, OpensAMappedFile) {
  // The process id keeps concurrent test runs (other checkouts, parallel ctest) apart.
  const auto path = (std::filesystem::temp_directory_path() /
                     ("lagvk_test_gguf_open_" + std::to_string(::getpid()) + ".gguf"))
                        .string();
  sample_writer().write(path);
  {
    const auto f = GgufFile::open(path);
    EXPECT_EQ(f.path(), path);
    EXPECT_EQ(f.tensors().size(), 3u);
    EXPECT_NEAR(dequantize(GgmlType::q8_0, f.tensor_data(*f.find_tensor("a.q8")), 64)[0], -3.0f, 0.05f);
  }
  std::filesystem::remove(path);
  EXPECT_THROW((void)GgufFile::open(path), Error);
}

// `lagvk quantize` streams: a produced tensor's bytes come from its producer as the file is written, and
// the file is the one the same bytes added up front make; a producer that fails, or returns the wrong
// size, leaves neither the file nor its temporary.
TEST(Gguf, ProducedTensorsWriteTheSameFileAndAFailedOneLeavesNone) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / ("lagvk_test_gguf_produce_" + std::to_string(::getpid()) + ".gguf")).string();
  const std::vector<float> values = {1.0f, -2.0f, 3.5f, 0.25f};
  GgufWriter added, produced;
  for (auto* w : {&added, &produced}) w->set_string("general.architecture", "llama");
  added.add_tensor("t", {4}, GgmlType::f32, quantize(GgmlType::f32, values));
  int calls = 0;
  produced.add_tensor_producer("t", {4}, GgmlType::f32, [&] {
    ++calls;
    return quantize(GgmlType::f32, values);
  });
  produced.write(path);
  EXPECT_EQ(calls, 1);
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, added.to_bytes());
  std::filesystem::remove(path);

  GgufWriter wrong_size, throwing;
  wrong_size.add_tensor_producer("t", {4}, GgmlType::f32, [] { return std::vector<std::uint8_t>(3); });
  throwing.add_tensor_producer("t", {4}, GgmlType::f32, []() -> std::vector<std::uint8_t> {
    fail(Errc::io, "cannot read the input");
  });
  EXPECT_THROW(wrong_size.write(path), Error);
  EXPECT_THROW(throwing.write(path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_THROW(
      produced.add_tensor_producer("u", {5}, GgmlType::q8_0, [] { return std::vector<std::uint8_t>(); }),
      Error)
      << "rows of 5 do not fit Q8_0's blocks";
}

// What `lagvk model-info` opens: a tensor of a type lagvk cannot decode is kept aside with its layout,
// and tensor data cut off by truncation is reported instead of thrown; strict opens still refuse both.
TEST(Gguf, DescribeModeKeepsForeignTensorsAndTruncation) {
  auto bytes = sample_writer().to_bytes();
  const std::string name = "a.q8";
  const auto it = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
  ASSERT_NE(it, bytes.end());
  const std::size_t type_at = std::size_t(it - bytes.begin()) + name.size() + 4 + 2 * 8;
  const std::uint32_t mxfp4 = 39;  // 17 bytes per 32 elements: inside the Q8_0 tensor's 68 bytes
  std::memcpy(&bytes[type_at], &mxfp4, 4);
  const auto path = (std::filesystem::temp_directory_path() /
                     ("lagvk_test_gguf_describe_" + std::to_string(::getpid()) + ".gguf"))
                        .string();
  auto write = [&](std::size_t size) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(size));
  };
  write(bytes.size());
  EXPECT_THROW((void)GgufFile::open(path), Error);
  {
    const auto f = GgufFile::open(path, GgufOpenMode::describe);
    ASSERT_EQ(f.foreign_tensors().size(), 1u);
    const auto& foreign = f.foreign_tensors()[0];
    EXPECT_EQ(foreign.name, "a.q8");
    EXPECT_EQ(ggml_type_name(foreign.type_id), "MXFP4");
    EXPECT_EQ(foreign.dims, (std::vector<std::uint64_t>{32, 2}));
    EXPECT_EQ(foreign.n_bytes, 2u * 17);
    EXPECT_EQ(foreign.position, 0u);
    EXPECT_EQ(f.tensors().size(), 2u);
    EXPECT_EQ(f.find_tensor("a.q8"), nullptr);
    EXPECT_EQ(f.damage(), "");
  }
  write(bytes.size() - 20);  // the end of c.f16 is gone
  {
    const auto f = GgufFile::open(path, GgufOpenMode::describe);
    EXPECT_NE(f.damage().find("tensor 'c.f16'"), std::string::npos) << f.damage();
    const auto* cut = f.find_tensor("c.f16");
    ASSERT_NE(cut, nullptr);
    EXPECT_THROW((void)f.tensor_data(*cut), Error);
    EXPECT_EQ(f.tensor_data(*f.find_tensor("b.f32")).size(), 7u * 4);
  }
  std::filesystem::remove(path);
}

// Truncation at every kind of offset and random byte flips must give lagvk::Error or a valid file; any
// other exception, a crash, or a sanitizer report fails the test.
TEST(Gguf, FuzzedFilesOnlyEverThrowLagvkError) {
  const auto bytes = sample_writer().to_bytes();
  int errors = 0, cases = 0;
  auto attempt = [&](std::vector<std::uint8_t> b) {
    ++cases;
    try {
      const auto f = GgufFile::from_bytes(std::move(b));
      for (const auto& t : f.tensors()) (void)f.tensor_data(t);
    } catch (const Error&) {
      ++errors;
    }
  };
  for (std::size_t len = 0; len < bytes.size(); ++len)
    attempt(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(len)));
  std::mt19937_64 rng(1234);
  for (int i = 0; i < 1500; ++i) {
    auto b = bytes;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const std::size_t at = std::size_t(rng() % b.size());
      if (rng() % 2)
        b[at] ^= std::uint8_t(1u << (rng() % 8));
      else
        b[at] = std::uint8_t(rng());
    }
    attempt(std::move(b));
  }
  EXPECT_GT(cases, 1500);
  EXPECT_GT(errors, int(bytes.size()) - 100);  // almost every truncation must be refused
}

// The same on a complete model file, through everything that reads one: Model validation and the
// tokenizer. Damage is aimed mostly at the header and metadata, where the lengths live.
TEST(Gguf, FuzzedModelsOnlyEverThrowLagvkError) {
  RandomModelSpec s;
  s.n_layers = 1;
  s.n_embd = 32;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.n_ff = 32;
  s.n_vocab = 260;
  const auto bytes = make_random_model(s).to_bytes();
  const auto meta_end = std::size_t(GgufFile::from_bytes(bytes).data_offset());
  int loaded = 0;
  auto attempt = [&](std::vector<std::uint8_t> b) {
    try {
      const auto model = Model::from_gguf(GgufFile::from_bytes(std::move(b)));
      const auto tok = make_tokenizer(model.gguf());
      (void)tok->decode(tok->encode("hello world", true, true));
      ++loaded;
    } catch (const Error&) {
    }
  };
  attempt(bytes);
  ASSERT_EQ(loaded, 1);
  std::mt19937_64 rng(99);
  for (int i = 0; i < 300; ++i)
    attempt(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(rng() % bytes.size())));
  for (int i = 0; i < 700; ++i) {
    auto b = bytes;
    const int flips = 1 + int(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      const std::size_t at = std::size_t(rng() % (i % 4 == 0 ? b.size() : meta_end));
      b[at] = (rng() % 2) ? std::uint8_t(b[at] ^ (1u << (rng() % 8))) : std::uint8_t(rng());
    }
    attempt(std::move(b));
  }
  EXPECT_GT(loaded, 1);  // some damage (e.g. inside a token's text) still gives a usable model
}

}  // namespace
}  // namespace lagvk
