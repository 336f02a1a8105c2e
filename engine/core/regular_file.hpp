#pragma once
// Opening files a user named, safely: every path lagvk reads (a model, a trace file, a knowledge base,
// an export archive, ...) must be a regular file. A directory reads as an empty file and a FIFO blocks
// the open until some writer appears (forever, typically), so both are refused up front with a message
// that says what the path is. The open uses O_NONBLOCK so that it cannot block on a FIFO; the file type
// is then taken from the open descriptor (fstat), so a path swapped between a check and the open cannot
// slip through. Header-only so that every library (the engine, the log store) can use it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "engine/core/error.hpp"

namespace lagvk {

/// An open file descriptor, closed when the object dies.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_ = -1;
};

/// What a file of this mode is, for messages ("a directory", "a FIFO (named pipe)", ...).
[[nodiscard]] inline std::string_view describe_file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

/// The message for a path that is not a regular file: "'P' is a directory, not a regular file ...".
[[nodiscard]] inline std::string not_regular_file_message(const std::string& path, mode_t mode) {
  const std::string_view type = describe_file_type(mode);
  return type == "not a regular file"
             ? fmt::format("'{}' is not a regular file; give the path of a file", path)
             : fmt::format("'{}' is {}, not a regular file; give the path of a file", path, type);
}

/// What a path may be besides a regular file.
enum class AlsoAccept { nothing, pipe };

/// Opens path read-only, refusing (lagvk::Error naming the path) anything but a regular file (symbolic
/// links to one are followed), or a pipe where `also` says so, without ever blocking: a FIFO that no
/// writer holds reads as empty instead of hanging the open. The descriptor is returned in blocking mode.
[[nodiscard]] inline FileDescriptor open_regular_file(const std::string& path,
                                                      AlsoAccept also = AlsoAccept::nothing) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0)
    fail(errno == ENOENT || errno == ENOTDIR ? Errc::file_not_found : Errc::io, "cannot open '{}': {}", path,
         std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(Errc::io, "cannot read '{}': {}", path, std::strerror(errno));
  const bool pipe_ok = also == AlsoAccept::pipe && S_ISFIFO(st.st_mode);
  if (!S_ISREG(st.st_mode) && !pipe_ok) throw Error(Errc::io, not_regular_file_message(path, st.st_mode));
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
    fail(Errc::io, "cannot read '{}': {}", path, std::strerror(errno));
  return fd;
}

/// Refuses a path that is not a regular file (as open_regular_file), for code that then opens it with
/// a stream of its own.
inline void require_regular_file(const std::string& path) {
  (void)open_regular_file(path);
}

/// Everything left to read from fd (named `path` in messages).
[[nodiscard]] inline std::string read_all(const FileDescriptor& fd, const std::string& path) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(Errc::io, "cannot read '{}': {}", path, std::strerror(errno));
    if (n == 0) break;
    out.append(buf, std::size_t(n));
  }
  return out;
}

/// The whole content of a regular file (or pipe, as `also` says; open_regular_file refuses anything else).
[[nodiscard]] inline std::string read_regular_file(const std::string& path,
                                                   AlsoAccept also = AlsoAccept::nothing) {
  return read_all(open_regular_file(path, also), path);
}

}  // namespace lagvk
