#include "tests/support/scratch_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <system_error>

namespace lagvk::test {

ScratchDir::ScratchDir(const std::string& name)
    : path_(std::filesystem::path(::testing::TempDir()) /
            ("lagvk_" + name + "_" + std::to_string(::getpid()))) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;  // a destructor must not throw; a directory left behind is only clutter
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace lagvk::test
