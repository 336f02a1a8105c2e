#pragma once
// Tests that check lagvk against an outside reference (llama.cpp through the npm peer, the Hugging Face
// reference tokenizers, the lagvk binary they drive) skip on a machine that lacks it. ctest counts a skip
// as a pass, so a reference that vanished would leave the suite green: scripts/test.sh (and so CI) sets
// LAGVK_REQUIRE_REFERENCES=1, under which a missing reference fails the test instead.
#include <gtest/gtest.h>

namespace lagvk::test {

/// True when LAGVK_REQUIRE_REFERENCES is set to anything but "" or "0".
[[nodiscard]] bool references_required();

}  // namespace lagvk::test

/// Skips the test with `reason`, or fails it when references are required. Use it in place of
/// GTEST_SKIP() wherever the missing thing is an outside reference or a build product.
#define LAGVK_REFERENCE_MISSING(reason)                                                          \
  do {                                                                                           \
    if (::lagvk::test::references_required()) {                                                  \
      GTEST_FAIL() << "outside reference missing (LAGVK_REQUIRE_REFERENCES is set): " << reason; \
    } else {                                                                                     \
      GTEST_SKIP() << reason;                                                                    \
    }                                                                                            \
  } while (0)
