#include "engine/tokenizer/jinja_json.hpp"

namespace lagvk {
namespace {

void write(std::string& out, const nlohmann::ordered_json& v, int indent, int depth) {
  const bool nested = v.is_object() || v.is_array();
  if (!nested || v.empty()) {
    // Scalars (and empty containers) as nlohmann writes them: the same escapes as both tojson
    // implementations (\n, \", \\, \u00XX for other control characters), non-ASCII text kept as is;
    // bytes that are not UTF-8 (a caller's text may hold any) become U+FFFD instead of an exception.
    out += v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    return;
  }
  const std::string inner = indent > 0 ? "\n" + std::string(std::size_t(indent * (depth + 1)), ' ') : "";
  const std::string outer = indent > 0 ? "\n" + std::string(std::size_t(indent * depth), ' ') : "";
  const char* between = indent > 0 ? "," : ", ";
  out += v.is_object() ? '{' : '[';
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out += between;
    first = false;
    out += inner;
    if (v.is_object()) {
      out += nlohmann::ordered_json(it.key()).dump(-1, ' ', false,
                                                   nlohmann::ordered_json::error_handler_t::replace);
      out += ": ";
    }
    write(out, *it, indent, depth + 1);
  }
  out += outer;
  out += v.is_object() ? '}' : ']';
}

}  // namespace

std::string jinja_tojson(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  write(out, value, indent, 0);
  return out;
}

}  // namespace lagvk
