#pragma once
// A scratch directory that does not outlive the command, even when the command is interrupted: removed
// by its destructor (normal end, errors), and by a SIGINT/SIGTERM handler that removes the tree with
// async-signal-safe system calls only and then lets the signal take its default action. Without the
// handler, Ctrl-C during 'lagvk eval' left its scratch stores in the temp directory.
#include <string>

namespace lagvk::cli {

class ScratchDir {
 public:
  /// Creates a fresh directory "<parent>/<prefix>XXXXXX" (parent: the temp directory when empty) and
  /// installs the handlers. One may exist at a time.
  ScratchDir(const std::string& parent, const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace lagvk::cli
