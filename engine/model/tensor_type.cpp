#include "engine/model/tensor_type.hpp"

#include <array>
#include <cctype>

#include "engine/core/error.hpp"

namespace lagvk {
namespace {

// ggml's names for every type id up to Q1_0, so that errors can name what a file contains even when
// lagvk cannot read it.
constexpr std::array<std::string_view, 42> kForeignNames = {
    "F32",   "F16",        "Q4_0",       "Q4_1",       "Q4_2",     "Q4_3",     "Q5_0",
    "Q5_1",  "Q8_0",       "Q8_1",       "Q2_K",       "Q3_K",     "Q4_K",     "Q5_K",
    "Q6_K",  "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    "IQ4_NL",
    "IQ3_S", "IQ2_S",      "IQ4_XS",     "I8",         "I16",      "I32",      "I64",
    "F64",   "IQ1_M",      "BF16",       "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
    "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",    "NVFP4",    "Q1_0",
};

// Block layouts of ggml types lagvk cannot decode (elements per block, bytes per block), facts of the
// GGUF format, so that a file holding them can still be parsed and described. Ids whose layout ggml no
// longer defines (Q4_2, Q4_3, the repacked Q4_0_4_4 ... IQ4_NL_8_8) and Q8_1 (only ever an internal
// type of ggml's CPU backend) are absent.
struct ForeignLayout {
  std::uint32_t id;
  GgmlBlockLayout layout;
};
constexpr std::array kForeignLayouts = {
    ForeignLayout{15, {256, 292}},  // Q8_K
    ForeignLayout{16, {256, 66}},   // IQ2_XXS
    ForeignLayout{17, {256, 74}},   // IQ2_XS
    ForeignLayout{18, {256, 98}},   // IQ3_XXS
    ForeignLayout{19, {256, 50}},   // IQ1_S
    ForeignLayout{21, {256, 110}},  // IQ3_S
    ForeignLayout{22, {256, 82}},   // IQ2_S
    ForeignLayout{24, {1, 1}},      // I8
    ForeignLayout{25, {1, 2}},      // I16
    ForeignLayout{26, {1, 4}},      // I32
    ForeignLayout{27, {1, 8}},      // I64
    ForeignLayout{28, {1, 8}},      // F64
    ForeignLayout{29, {256, 56}},   // IQ1_M
    ForeignLayout{34, {256, 54}},   // TQ1_0
    ForeignLayout{35, {256, 66}},   // TQ2_0
    ForeignLayout{39, {32, 17}},    // MXFP4
    ForeignLayout{40, {64, 36}},    // NVFP4
    ForeignLayout{41, {128, 18}},   // Q1_0
};

bool same_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool listed(const GgmlTypeInfo& t, TypeList list) {
  switch (list) {
    case TypeList::readable:
      return true;
    case TypeList::gpu:
      return t.chunk_elements > 0;
    case TypeList::writable_lower:
      return t.writable;
  }
  return false;
}

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(std::uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (static_cast<std::uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

std::string ggml_type_name(std::uint32_t id) {
  if (auto t = ggml_type_info(id)) return std::string(t->name);
  if (id < kForeignNames.size()) return std::string(kForeignNames[id]);
  return "type " + std::to_string(id);
}

std::optional<GgmlBlockLayout> ggml_block_layout(std::uint32_t id) {
  if (auto t = ggml_type_info(id)) return GgmlBlockLayout{t->block_size, t->bytes_per_block};
  for (const auto& f : kForeignLayouts)
    if (f.id == id) return f.layout;
  return std::nullopt;
}

std::optional<GgmlType> parse_ggml_type(std::string_view name) {
  for (const auto& t : kGgmlTypes)
    if (same_ignoring_case(t.name, name)) return t.type;
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

std::string type_names(TypeList list) {
  std::string out;
  for (const auto& t : kGgmlTypes) {
    if (!listed(t, list)) continue;
    if (!out.empty()) out += ", ";
    out += list == TypeList::writable_lower ? t.lower_name : t.name;
  }
  return out;
}

}  // namespace lagvk
