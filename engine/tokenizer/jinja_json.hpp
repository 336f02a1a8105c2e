#pragma once
// JSON written as the `tojson` filter of Hugging Face chat templates writes it, so that tool definitions
// and call arguments reach the model in the bytes its template would have given it: Python's
// json.dumps(ensure_ascii=False) in transformers, JSON.stringify in @huggingface/jinja, which agree on
// ", " and ": " between items on one line, and with an indent on one item per line ("," at line ends).
// Keys keep the order they were given in (a tool's schema is read in the client's order).
#include <string>

#include <nlohmann/json.hpp>

namespace lagvk {

/// `value | tojson` (indent 0) or `value | tojson(indent=N)`.
[[nodiscard]] std::string jinja_tojson(const nlohmann::ordered_json& value, int indent = 0);

}  // namespace lagvk
