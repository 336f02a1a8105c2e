// The main() of every test binary: gtest, plus the validation checks of tests/support/validation.hpp
// (a failed test on any validation message, in this process and in every child it starts).
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/core/error.hpp"
#include "tests/support/validation.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  try {
    lagvk::test::fail_children_on_validation_messages();
  } catch (const lagvk::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  ::testing::UnitTest::GetInstance()->listeners().Append(new lagvk::test::ValidationCheck);
  return RUN_ALL_TESTS();
}
