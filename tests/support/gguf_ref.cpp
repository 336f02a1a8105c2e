#include "tests/support/gguf_ref.hpp"
#include "tests/support/scratch_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>

#ifndef LAGVK_SOURCE_DIR
#error "LAGVK_SOURCE_DIR must be defined (tests/CMakeLists.txt does)"
#endif

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

fs::path ref_dir() {
  return fs::path(LAGVK_SOURCE_DIR) / "tests" / "gguf_ref";
}
fs::path python() {
  return ref_dir() / "venv" / "bin" / "python";
}

/// Single-quotes a path for /bin/sh.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs gguf_ref.py with `args`; returns its stdout, throws with its output when it fails.
std::string run_script(const std::vector<std::string>& args) {
  std::string command = quoted(python().string()) + " -B " + quoted((ref_dir() / "gguf_ref.py").string());
  for (const auto& a : args) command += " " + quoted(a);
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("gguf_ref: cannot run " + command);
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  if (status != 0) throw std::runtime_error("gguf_ref: `" + command + "` failed:\n" + out);
  return out;
}

/// A scratch directory of its own for each call (calls may nest in one process).
test::ScratchDir numbered_scratch_dir() {
  static int counter = 0;
  return test::ScratchDir("gguf_ref_" + std::to_string(counter++));
}

std::vector<float> read_floats(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("gguf_ref: missing output " + path.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), values.size() * 4);
  return values;
}

// --- Awkward blocks, from the block layouts of the GGUF/ggml format (offsets in bytes) ------------

/// Where a block keeps its fp16 scale(s): {bytes per block, elements per block, d offset, dmin offset
/// (-1 when the type has none)}.
struct BlockLayout {
  std::size_t bytes, elements;
  int d_offset, dmin_offset;
};

BlockLayout layout(GgmlType type) {
  switch (type) {
    case GgmlType::q8_0:  // {f16 d; i8 qs[32]}
      return {34, 32, 0, -1};
    case GgmlType::q4_0:  // {f16 d; u8 qs[16]}
      return {18, 32, 0, -1};
    case GgmlType::q4_1:  // {f16 d; f16 m; u8 qs[16]}
      return {20, 32, 0, 2};
    case GgmlType::q5_0:  // {f16 d; u8 qh[4]; u8 qs[16]}
      return {22, 32, 0, -1};
    case GgmlType::q5_1:  // {f16 d; f16 m; u8 qh[4]; u8 qs[16]}
      return {24, 32, 0, 2};
    case GgmlType::iq4_nl:  // {f16 d; u8 qs[16]}
      return {18, 32, 0, -1};
    case GgmlType::q2_k:  // {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin}
      return {84, 256, 80, 82};
    case GgmlType::q3_k:  // {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}
      return {110, 256, 108, -1};
    case GgmlType::iq4_xs:  // {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}
      return {136, 256, 0, -1};
    case GgmlType::q4_k:  // {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}
      return {144, 256, 0, 2};
    case GgmlType::q5_k:  // {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
      return {176, 256, 0, 2};
    case GgmlType::q6_k:  // {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
      return {210, 256, 208, -1};
    default:
      throw std::runtime_error("awkward_blocks: not a block type");
  }
}

void put_half_bits(std::uint8_t* at, std::uint16_t bits) {
  at[0] = std::uint8_t(bits & 0xFF);
  at[1] = std::uint8_t(bits >> 8);
}

/// fp16 bits of a random value of about `magnitude`, either sign (binary16: 1 sign, 5 exponent bits
/// with bias 15, 10 mantissa bits).
std::uint16_t random_half(std::mt19937_64& rng, float magnitude) {
  const int top = std::clamp(15 + int(std::floor(std::log2(magnitude))), 1, 30);
  const int exponent = top - int(rng() % 4);  // within 16x below the magnitude
  const auto mantissa = std::uint16_t(rng() & 0x3FF);
  const auto sign = std::uint16_t((rng() & 1) << 15);
  return std::uint16_t(sign | (std::max(exponent, 1) << 10) | mantissa);
}

/// A random finite value of about `magnitude` with `mantissa_bits` significant bits, spread over
/// 2^-12..1 times the magnitude (small values matter as much as large ones).
float random_float(std::mt19937_64& rng, float magnitude, int mantissa_bits) {
  const float scale = std::ldexp(magnitude, -int(rng() % 13));
  const std::uint32_t mantissa = std::uint32_t(rng()) & ((1u << mantissa_bits) - 1);
  const float v = scale * (1.0f + float(mantissa) / float(1u << mantissa_bits)) / 2.0f;
  return (rng() & 1) ? -v : v;
}

std::vector<std::uint8_t> awkward_floats(GgmlType type, std::size_t n, std::mt19937_64& rng, bool extreme,
                                         float magnitude) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (type == GgmlType::f32) {
      float v = random_float(rng, magnitude, 23);
      if (extreme && i % 97 == 5) v = std::ldexp(1.0f, -140);  // an fp32 subnormal
      const auto bits = std::bit_cast<std::uint32_t>(v);
      for (int b = 0; b < 4; ++b) out.push_back(std::uint8_t(bits >> (8 * b)));
    } else if (type == GgmlType::f16) {
      std::uint16_t bits = random_half(rng, magnitude);
      if (extreme && i % 97 == 5) bits = 0x0155;  // an fp16 subnormal
      if (extreme && i % 97 == 6) bits = 0xFBFF;  // -65504
      out.push_back(std::uint8_t(bits & 0xFF));
      out.push_back(std::uint8_t(bits >> 8));
    } else {  // bf16: the top half of an fp32
      auto bits = std::uint16_t(std::bit_cast<std::uint32_t>(random_float(rng, magnitude, 7)) >> 16);
      if (extreme && i % 97 == 5) bits = 0x0001;  // a bf16 subnormal
      if (extreme && i % 97 == 6) bits = 0xFF7F;  // the most negative finite bf16
      out.push_back(std::uint8_t(bits & 0xFF));
      out.push_back(std::uint8_t(bits >> 8));
    }
  }
  return out;
}

}  // namespace

bool gguf_ref_available() {
  return gguf_ref_unavailable_reason().empty();
}

std::string gguf_ref_unavailable_reason() {
  static const std::string reason = [] {
    if (!fs::exists(python()))
      return "gguf-py is not installed (" + python().string() + " missing): run scripts/setup_gguf_ref.sh";
    try {
      (void)run_script({"version"});
    } catch (const std::exception& e) {
      return std::string("gguf-py does not run: ") + e.what() + " (rerun scripts/setup_gguf_ref.sh)";
    }
    return std::string();
  }();
  return reason;
}

std::vector<float> gguf_ref_dequantize(GgmlType type, std::span<const std::uint8_t> blocks) {
  const test::ScratchDir dir = numbered_scratch_dir();
  {
    std::ofstream out(dir.path() / "blocks", std::ios::binary);
    out.write(reinterpret_cast<const char*>(blocks.data()), std::streamsize(blocks.size()));
  }
  (void)run_script({"dequantize", ggml_type_name(type), (dir.path() / "blocks").string(),
                    (dir.path() / "values").string()});
  return read_floats(dir.path() / "values");
}

std::vector<std::uint8_t> gguf_ref_quantize(GgmlType type, std::span<const float> values) {
  const test::ScratchDir dir = numbered_scratch_dir();
  {
    std::ofstream out(dir.path() / "values", std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size_bytes()));
  }
  (void)run_script(
      {"quantize", ggml_type_name(type), (dir.path() / "values").string(), (dir.path() / "blocks").string()});
  std::ifstream in(dir.path() / "blocks", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

GgufRefTypeTraits gguf_ref_type_traits(std::string_view name) {
  std::istringstream out(run_script({"type", std::string(name)}));
  GgufRefTypeTraits t;
  if (!(out >> t.id >> t.block_elements >> t.block_bytes))
    throw std::runtime_error("gguf_ref: cannot parse the traits of " + std::string(name));
  return t;
}

GgufRefModel gguf_ref_read_model(const std::filesystem::path& model) {
  const test::ScratchDir dir = numbered_scratch_dir();
  (void)run_script({"metadata", model.string(), dir.path().string()});
  std::ifstream in(dir.path() / "metadata.json");
  const auto doc = nlohmann::json::parse(in);
  GgufRefModel out;
  out.kv = doc.at("kv");
  out.tensors = doc.at("tensors");
  for (const auto& t : out.tensors) {
    const std::string name = t.at("name");
    out.values[name] = read_floats(dir.path() / (name + ".f32"));
  }
  return out;
}

std::size_t awkward_elements(GgmlType type, std::size_t blocks) {
  return is_quantized(type) ? blocks * layout(type).elements : blocks * 32;
}

std::vector<std::uint8_t> awkward_blocks(GgmlType type, std::size_t blocks, std::uint64_t seed,
                                         bool extreme_scales, float scale_magnitude) {
  std::mt19937_64 rng(seed);
  if (!is_quantized(type)) return awkward_floats(type, blocks * 32, rng, extreme_scales, scale_magnitude);
  const BlockLayout l = layout(type);
  std::vector<std::uint8_t> out(blocks * l.bytes);
  for (auto& b : out) b = std::uint8_t(rng());  // every quant, scale and high bit random
  // fp16 limits: the largest finite value, the smallest normal, a subnormal, and their negatives.
  const std::uint16_t extremes[] = {0x7BFF, 0x0400, 0x0003, 0xFBFF, 0x8400, 0x8155};
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint8_t* blk = &out[i * l.bytes];
    const bool extreme = extreme_scales && i % 4 == 1;
    put_half_bits(blk + l.d_offset,
                  extreme ? extremes[(i / 4) % std::size(extremes)] : random_half(rng, scale_magnitude));
    if (l.dmin_offset >= 0) {
      // A minimum of either sign (random_half picks it), and now and then a zero minimum.
      put_half_bits(blk + l.dmin_offset, i % 7 == 3 ? 0 : random_half(rng, scale_magnitude));
      // One K-quant block in five has every packed scale byte 0xFF: all 6-bit scales and minimums 63.
      if (l.elements == 256 && l.dmin_offset == 2 && i % 5 == 2) std::memset(blk + 4, 0xFF, 12);
    }
  }
  return out;
}

}  // namespace lagvk::test
