#include "engine/model/gguf_value.hpp"

#include <fmt/format.h>

namespace lagvk {

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::u8:
      return "u8";
    case GgufValueType::i8:
      return "i8";
    case GgufValueType::u16:
      return "u16";
    case GgufValueType::i16:
      return "i16";
    case GgufValueType::u32:
      return "u32";
    case GgufValueType::i32:
      return "i32";
    case GgufValueType::f32:
      return "f32";
    case GgufValueType::boolean:
      return "bool";
    case GgufValueType::string:
      return "string";
    case GgufValueType::array:
      return "array";
    case GgufValueType::u64:
      return "u64";
    case GgufValueType::i64:
      return "i64";
    case GgufValueType::f64:
      return "f64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  return std::holds_alternative<std::uint64_t>(data) || std::holds_alternative<std::int64_t>(data);
}

std::string GgufValue::to_display_string() const {
  if (auto* u = std::get_if<std::uint64_t>(&data)) return fmt::format("{}", *u);
  if (auto* i = std::get_if<std::int64_t>(&data)) return fmt::format("{}", *i);
  if (auto* d = std::get_if<double>(&data)) return fmt::format("{:g}", *d);
  if (auto* b = std::get_if<bool>(&data)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&data)) {
    if (s->size() > 60) return fmt::format("\"{}...\" ({} bytes)", s->substr(0, 57), s->size());
    return fmt::format("\"{}\"", *s);
  }
  const auto& a = std::get<GgufArray>(data);
  return fmt::format("[{} x {}]", a.items.size(), gguf_value_type_name(a.element_type));
}

}  // namespace lagvk
