#include "tests/support/references.hpp"

#include <cstdlib>
#include <string_view>

namespace lagvk::test {

bool references_required() {
  const char* v = std::getenv("LAGVK_REQUIRE_REFERENCES");
  return v != nullptr && std::string_view(v) != "" && std::string_view(v) != "0";
}

}  // namespace lagvk::test
