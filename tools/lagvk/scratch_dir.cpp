#include "tools/lagvk/scratch_dir.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <vector>

#include "engine/core/error.hpp"

namespace lagvk::cli {

namespace {

// The directory the handler removes, copied here before the handlers are installed (a handler may not
// allocate or take locks, so it reads a fixed buffer).
char g_scratch_path[4096];
volatile std::sig_atomic_t g_scratch_active = 0;
// The signals that end a process from a terminal or a supervisor (Ctrl-C, kill, a closed terminal,
// Ctrl-\): each removes the scratch directory before the process ends as killed by it.
constexpr int kEndingSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
struct sigaction g_previous[std::size(kEndingSignals)]{};

// getdents64's record (the kernel's struct linux_dirent64).
struct DirEntry64 {
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

bool is_dot_or_dot_dot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

// Removes name (in the directory parent_fd) and everything below it with raw system calls only, which
// are async-signal-safe. Entries are re-read from the start until a pass removes nothing, since
// removing entries while reading a directory may skip some.
void remove_tree_at(int parent_fd, const char* name, int depth) {
  if (depth > 32) return;
  const int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    alignas(8) char buf[8192];
    for (int pass = 0; pass < 64; ++pass) {
      bool removed = false;
      ::lseek(fd, 0, SEEK_SET);
      for (;;) {
        const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
          const auto* d = reinterpret_cast<const DirEntry64*>(buf + off);
          off += d->d_reclen;
          if (is_dot_or_dot_dot(d->d_name)) continue;
          if (::unlinkat(fd, d->d_name, 0) != 0 && (errno == EISDIR || errno == EPERM))
            remove_tree_at(fd, d->d_name, depth + 1);
          removed = true;
        }
      }
      if (!removed) break;
    }
    ::close(fd);
  }
  ::unlinkat(parent_fd, name, AT_REMOVEDIR);
}

extern "C" void remove_scratch_and_reraise(int signal) {
  if (g_scratch_active) {
    g_scratch_active = 0;
    remove_tree_at(AT_FDCWD, g_scratch_path, 0);
  }
  // The default action now: the process ends as killed by this signal, as the caller expects.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(signal, &dfl, nullptr);
  ::raise(signal);
}

}  // namespace

ScratchDir::ScratchDir(const std::string& parent, const std::string& prefix) {
  const std::filesystem::path base =
      parent.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(parent);
  std::error_code ec;
  std::filesystem::create_directories(base, ec);  // a missing --work-dir is made, as before
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (pattern.size() >= sizeof g_scratch_path) fail("the scratch directory path '{}' is too long", pattern);
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))
    fail("cannot create a scratch directory in '{}': {}", base.string(), std::strerror(errno));
  path_ = buf.data();
  std::memcpy(g_scratch_path, path_.c_str(), path_.size() + 1);
  g_scratch_active = 1;
  struct sigaction sa {};
  sa.sa_handler = remove_scratch_and_reraise;
  sigemptyset(&sa.sa_mask);
  for (const int sig : kEndingSignals) sigaddset(&sa.sa_mask, sig);  // one handler at a time
  for (std::size_t i = 0; i < std::size(kEndingSignals); ++i)
    ::sigaction(kEndingSignals[i], &sa, &g_previous[i]);
}

ScratchDir::~ScratchDir() {
  for (std::size_t i = 0; i < std::size(kEndingSignals); ++i)
    ::sigaction(kEndingSignals[i], &g_previous[i], nullptr);
  g_scratch_active = 0;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace lagvk::cli
