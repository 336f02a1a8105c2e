#pragma once
// A scratch directory for a test or a fixture: empty when made, removed with everything in it when the
// object goes (also when a test fails part-way or an exception unwinds past it). Its name holds the
// process id, so test programs that ctest runs in parallel never share one.
#include <filesystem>
#include <string>

namespace lagvk::test {

class ScratchDir {
 public:
  /// <gtest's TempDir()>/lagvk_<name>_<pid>, emptied of anything an earlier run left there.
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace lagvk::test
