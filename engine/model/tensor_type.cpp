#include "engine/model/tensor_type.hpp"

#include <array>
#include <cctype>

#include "engine/core/error.hpp"

namespace lagvk {
namespace {

// Q4_K/Q5_K/Q6_K: 256-element super-blocks (ggml's QK_K). Q4_K = {f16 d, f16 dmin, u8 scales[12],
// u8 qs[128]}; Q5_K adds u8 qh[32]; Q6_K = {u8 ql[128], u8 qh[64], i8 scales[16], f16 d}.
constexpr std::array<GgmlTypeInfo, 8> kTypes = {{
    {GgmlType::f32, "F32", 1, 4},
    {GgmlType::f16, "F16", 1, 2},
    {GgmlType::q4_0, "Q4_0", 32, 18},
    {GgmlType::q8_0, "Q8_0", 32, 34},
    {GgmlType::q4_k, "Q4_K", 256, 144},
    {GgmlType::q5_k, "Q5_K", 256, 176},
    {GgmlType::q6_k, "Q6_K", 256, 210},
    {GgmlType::bf16, "BF16", 1, 2},
}};

// Names of ggml types lagvk cannot read, so that errors can name what a file contains.
constexpr std::array<std::string_view, 40> kForeignNames = {
    "F32",      "F16",      "Q4_0",    "Q4_1",  "Q4_2",       "Q4_3",       "Q5_0",       "Q5_1",
    "Q8_0",     "Q8_1",     "Q2_K",    "Q3_K",  "Q4_K",       "Q5_K",       "Q6_K",       "Q8_K",
    "IQ2_XXS",  "IQ2_XS",   "IQ3_XXS", "IQ1_S", "IQ4_NL",     "IQ3_S",      "IQ2_S",      "IQ4_XS",
    "I8",       "I16",      "I32",     "I64",   "F64",        "IQ1_M",      "BF16",       "Q4_0_4_4",
    "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",   "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",
};

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(std::uint32_t id) {
  for (const auto& t : kTypes)
    if (static_cast<std::uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

const GgmlTypeInfo& type_info(GgmlType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t;
  fail("internal: ggml type {} has no layout", static_cast<std::uint32_t>(type));
}

std::string ggml_type_name(std::uint32_t id) {
  if (auto t = ggml_type_info(id)) return std::string(t->name);
  if (id < kForeignNames.size()) return std::string(kForeignNames[id]);
  return "type " + std::to_string(id);
}

std::optional<GgmlType> parse_ggml_type(std::string_view name) {
  for (const auto& t : kTypes) {
    if (t.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size(); ++i)
      same = same && std::toupper(static_cast<unsigned char>(name[i])) == t.name[i];
    if (same) return t.type;
  }
  return std::nullopt;
}

std::size_t row_bytes(GgmlType type, std::size_t n) {
  const auto& t = type_info(type);
  if (n % t.block_size != 0)
    fail("a row of {} elements cannot be stored as {}: the length must be a multiple of {}", n, t.name,
         t.block_size);
  return n / t.block_size * t.bytes_per_block;
}

bool is_quantized(GgmlType type) {
  return type_info(type).block_size > 1;
}

}  // namespace lagvk
