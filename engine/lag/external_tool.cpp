#include "engine/lag/external_tool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

extern char** environ;

namespace lagvk::lag {

namespace {

using Clock = std::chrono::steady_clock;

/// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// A child process in its own process group: the destructor kills the group (a shell's children too) and
/// reaps the child, so no path leaves a zombie or a stray tool running.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  /// Waits for the child to exit (after its output closed) and returns its wait status; the rest of its
  /// group is killed.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    ::kill(-pid_, SIGKILL);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// The first bytes of text, printable, for an error message.
std::string excerpt(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 200)) out += (c >= 32 && c < 127) ? c : ' ';
  return text.size() > 200 ? out + "..." : out;
}

ToolRun error(std::string text) {
  return {false, std::move(text)};
}

/// The tool's stdout as the protocol's answer.
ToolRun parse_reply(const std::string& name, const std::string& out) {
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return error(
        fmt::format("tool {} printed something that is not a JSON object: \"{}\"", name, excerpt(out)));
  if (j.contains("error"))
    return error(fmt::format("tool {} failed: {}", name,
                             j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump()));
  if (!j.contains("output"))
    return error(fmt::format("tool {} printed a JSON object without \"output\": \"{}\"", name, excerpt(out)));
  return {true, j["output"].is_string() ? j["output"].get<std::string>() : j["output"].dump()};
}

}  // namespace

ExternalToolSpec parse_external_tool_spec(const std::string& spec) {
  const auto eq = spec.find('=');
  const std::string name = spec.substr(0, eq);
  const bool name_ok = !name.empty() && name.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-") == std::string::npos;
  if (eq == std::string::npos || !name_ok || spec.size() == eq + 1)
    fail(Errc::invalid_argument,
         "--tool '{}': give NAME=COMMAND (NAME of letters, digits, '_' or '-'; COMMAND run by /bin/sh, JSON "
         "on "
         "stdin and stdout)",
         spec);
  return {name, spec.substr(eq + 1)};
}

ToolRun run_external_tool(const std::string& name, const std::string& command, const std::string& input,
                          const ExternalToolLimits& limits) {
  // stdin is a socket, so that writing to a tool that never reads it (or has exited) gets EPIPE from
  // send(MSG_NOSIGNAL) instead of a SIGPIPE that would kill the host.
  int in_pair[2], out_pipe[2], err_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0)
    return error(fmt::format("tool {}: cannot make a pipe: {}", name, std::strerror(errno)));
  Fd in_parent(in_pair[0]), in_child(in_pair[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return error(fmt::format("tool {}: cannot make a pipe: {}", name, std::strerror(errno)));
  Fd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return error(fmt::format("tool {}: cannot make a pipe: {}", name, std::strerror(errno)));
  Fd err_parent(err_pipe[0]), err_child(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_child.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_child.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);  // the tool gets default handlers (SIGPIPE included)
  posix_spawnattr_setsigmask(&attr, &none);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return error(fmt::format("tool {}: cannot start /bin/sh: {}", name, std::strerror(rc)));
  ChildProcess child(pid);
  in_child.reset();
  out_child.reset();
  err_child.reset();

  const std::string request = nlohmann::json{{"tool", name}, {"input", input}}.dump() + "\n";
  std::size_t written = 0;
  std::string out, err;
  set_nonblocking(in_parent.get());
  set_nonblocking(out_parent.get());
  set_nonblocking(err_parent.get());
  const auto deadline = Clock::now() + limits.timeout;
  while (out_parent.get() >= 0 || err_parent.get() >= 0) {
    const auto now = Clock::now();
    if (now >= deadline)
      return error(fmt::format("tool {} did not finish within {} ms (killed)", name, limits.timeout.count()));
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd fds[3] = {
        {out_parent.get(), POLLIN, 0}, {err_parent.get(), POLLIN, 0}, {in_parent.get(), POLLOUT, 0}};
    if (::poll(fds, 3, int(std::min<long long>(left, 1000))) < 0 && errno != EINTR)
      return error(fmt::format("tool {}: poll failed: {}", name, std::strerror(errno)));
    if (in_parent.get() >= 0 && fds[2].revents) {
      const ssize_t n =
          ::send(in_parent.get(), request.data() + written, request.size() - written, MSG_NOSIGNAL);
      if (n > 0) written += std::size_t(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == request.size()) {
        ::shutdown(in_parent.get(),
                   SHUT_WR);  // end of file for the tool; a tool that left stdin unread is fine
        in_parent.reset();
      }
    }
    for (int i = 0; i < 2; ++i) {
      Fd& fd = i == 0 ? out_parent : err_parent;
      std::string& sink = i == 0 ? out : err;
      if (fd.get() < 0 || !fds[i].revents) continue;
      char buf[8192];
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        fd.reset();
        continue;
      }
      if (n > 0) sink.append(buf, std::size_t(n));
      if (i == 0 && out.size() > limits.max_output_bytes)
        return error(
            fmt::format("tool {} printed more than {} bytes (killed)", name, limits.max_output_bytes));
      if (i == 1 && err.size() > limits.max_output_bytes) err.resize(limits.max_output_bytes);  // kept short
    }
  }
  in_parent.reset();
  const int status = child.wait();
  if (WIFSIGNALED(status))
    return error(fmt::format("tool {} was killed by signal {}{}", name, WTERMSIG(status),
                             err.empty() ? "" : ": " + excerpt(err)));
  if (WEXITSTATUS(status) != 0)
    return error(fmt::format("tool {} exited with status {}{}", name, WEXITSTATUS(status),
                             err.empty() ? "" : ": " + excerpt(err)));
  return parse_reply(name, out);
}

}  // namespace lagvk::lag
