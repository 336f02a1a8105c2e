#pragma once
// One GGUF metadata value: a scalar, a string, or an array of values of one type (arrays may nest).
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lagvk {

/// The on-disk type ids of GGUF metadata values (gguf_type).
enum class GgufValueType : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

[[nodiscard]] std::string_view gguf_value_type_name(GgufValueType type);

struct GgufValue;

struct GgufArray {
  GgufValueType element_type = GgufValueType::u8;
  std::vector<GgufValue> items;
};

struct GgufValue {
  GgufValueType type = GgufValueType::u8;
  /// Integers of every width live in u64 (unsigned types) or i64 (signed types), reals in double, so
  /// that the original width is kept only in `type`.
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, GgufArray> data;

  static GgufValue u8(std::uint8_t v) { return {GgufValueType::u8, std::uint64_t(v)}; }
  static GgufValue i8(std::int8_t v) { return {GgufValueType::i8, std::int64_t(v)}; }
  static GgufValue u16(std::uint16_t v) { return {GgufValueType::u16, std::uint64_t(v)}; }
  static GgufValue i16(std::int16_t v) { return {GgufValueType::i16, std::int64_t(v)}; }
  static GgufValue u32(std::uint32_t v) { return {GgufValueType::u32, std::uint64_t(v)}; }
  static GgufValue i32(std::int32_t v) { return {GgufValueType::i32, std::int64_t(v)}; }
  static GgufValue u64(std::uint64_t v) { return {GgufValueType::u64, v}; }
  static GgufValue i64(std::int64_t v) { return {GgufValueType::i64, v}; }
  static GgufValue f32(float v) { return {GgufValueType::f32, double(v)}; }
  static GgufValue f64(double v) { return {GgufValueType::f64, v}; }
  static GgufValue boolean(bool v) { return {GgufValueType::boolean, v}; }
  static GgufValue string(std::string v) { return {GgufValueType::string, std::move(v)}; }
  static GgufValue array(GgufValueType element_type, std::vector<GgufValue> items) {
    return {GgufValueType::array, GgufArray{element_type, std::move(items)}};
  }

  [[nodiscard]] bool is_integer() const;
  [[nodiscard]] bool is_real() const { return type == GgufValueType::f32 || type == GgufValueType::f64; }
  /// A short human-readable rendering ("32", "\"llama\"", "[32000 x string]").
  [[nodiscard]] std::string to_display_string() const;
};

}  // namespace lagvk
