#include "tests/support/cli_cases.hpp"

#include <gtest/gtest.h>

namespace lagvk::test {

namespace {

bool has_type(const nlohmann::json& v, JsonType t) {
  switch (t) {
    case JsonType::integer:
      return v.is_number_integer();
    case JsonType::number:
      return v.is_number();
    case JsonType::string:
      return v.is_string();
    case JsonType::boolean:
      return v.is_boolean();
    case JsonType::array:
      return v.is_array();
    case JsonType::object:
      return v.is_object();
    case JsonType::null:
      return v.is_null();
  }
  return false;
}

}  // namespace

const char* json_type_name(JsonType t) {
  switch (t) {
    case JsonType::integer:
      return "integer";
    case JsonType::number:
      return "number";
    case JsonType::string:
      return "string";
    case JsonType::boolean:
      return "boolean";
    case JsonType::array:
      return "array";
    case JsonType::object:
      return "object";
    case JsonType::null:
      return "null";
  }
  return "?";
}

std::string expand(const std::string& args, const Placeholders& values) {
  std::string out = args;
  for (const auto& [name, value] : values) {
    const std::string key = "{" + name + "}";
    for (auto at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
      out.replace(at, key.size(), value);
  }
  return out;
}

CaseResult run_case(const CliCase& c, const Placeholders& values) {
  const std::string args = expand(c.args, values);
  SCOPED_TRACE(c.name + ": lagvk " + args);
  CaseResult r;
  r.run = run_lagvk(args, c.json.empty());
  EXPECT_EQ(r.run.status, c.exit_code) << r.run.out;
  for (const auto& f : c.fragments)
    EXPECT_NE(r.run.out.find(f), std::string::npos) << "'" << f << "' in\n" << r.run.out;
  for (const auto& f : c.absent)
    EXPECT_EQ(r.run.out.find(f), std::string::npos) << "no '" << f << "' in\n" << r.run.out;
  if (c.json.empty()) return r;
  r.json = nlohmann::json::parse(r.run.out, nullptr, false);
  if (r.json.is_discarded()) {
    ADD_FAILURE() << "stdout is not one JSON value:\n" << r.run.out;
    r.json = nullptr;
    return r;
  }
  for (const auto& field : c.json) {
    const nlohmann::json::json_pointer ptr(field.pointer);
    if (!r.json.contains(ptr)) {
      ADD_FAILURE() << "no field " << field.pointer << " in\n" << r.run.out;
      continue;
    }
    EXPECT_TRUE(has_type(r.json.at(ptr), field.type))
        << field.pointer << " should be " << json_type_name(field.type) << ", is " << r.json.at(ptr).dump();
  }
  return r;
}

void run_cases(const std::vector<CliCase>& cases, const Placeholders& values) {
  for (const auto& c : cases) (void)run_case(c, values);
}

void expect_error(const CliResult& r, const std::string& fragment, const std::string& what) {
  EXPECT_EQ(r.status, kExitError) << what << ": exit 1 expected\n" << r.out;
  EXPECT_NE(r.out.find("error: "), std::string::npos) << what << "\n" << r.out;
  EXPECT_NE(r.out.find(fragment), std::string::npos) << what << ": '" << fragment << "' expected in\n"
                                                     << r.out;
}

}  // namespace lagvk::test
