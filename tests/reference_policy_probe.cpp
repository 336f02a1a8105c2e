// The probe behind ctest's ReferencePolicy tests: one test whose outside reference never exists. Under
// LAGVK_REQUIRE_REFERENCES=1 it must fail, otherwise skip (tests/support/references.hpp).
#include "tests/support/references.hpp"

TEST(ReferencePolicyProbe, MissingReference) {
  LAGVK_REFERENCE_MISSING("the probe's reference never exists");
}
