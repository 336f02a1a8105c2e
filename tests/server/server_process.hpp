#pragma once
// A `lagvk serve` started for a test: its stdout is read until "listening on http://HOST:PORT" (the port
// it chose with --port 0), its stderr goes to the test's (so a validation message fails the test). The
// destructor kills it if the test has not stopped it.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/cli.hpp"

namespace lagvk::test {

class ServerProcess {
 public:
  /// Starts `lagvk serve ARGS` (a shell command line: quote arguments yourself) and waits up to
  /// startup_limit for it to say it listens.
  explicit ServerProcess(const std::string& args,
                         std::chrono::seconds startup_limit = std::chrono::seconds(120)) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const std::string command = "exec " + lagvk_binary() + " serve " + args;
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    stdout_ = out[0];
    read_until_listening(startup_limit);
  }
  ~ServerProcess() {
    if (pid_ > 0 && status_ == kRunning) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// The port it listens on; 0 when it never said so (output() has what it printed).
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& output() const { return output_; }
  /// The server's process id (its /proc entry: memory, threads).
  [[nodiscard]] pid_t pid() const { return pid_; }

  /// Sends `signal` and waits up to `limit` for the exit. Returns the exit status, -1 when a signal
  /// ended it, -2 when it was still running at the limit (it is killed then).
  int stop(int signal, std::chrono::milliseconds limit, std::chrono::milliseconds* took = nullptr) {
    const auto start = std::chrono::steady_clock::now();
    kill(pid_, signal);
    while (std::chrono::steady_clock::now() - start < limit) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (took)
          *took =
              std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    status_ = -2;
    return status_;
  }

 private:
  static constexpr int kRunning = -100;

  void read_until_listening(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    const std::string marker = "listening on http://";
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = read(stdout_, buf, sizeof buf);
      if (n <= 0) return;  // it exited without listening
      output_.append(buf, std::size_t(n));
      const auto at = output_.find(marker);
      const auto colon = at == std::string::npos ? std::string::npos : output_.find(':', at + marker.size());
      const auto eol = colon == std::string::npos ? std::string::npos : output_.find('\n', colon);
      if (eol != std::string::npos) {
        port_ = std::stoi(output_.substr(colon + 1, eol - colon - 1));
        return;
      }
    }
  }

  pid_t pid_ = -1;
  int stdout_ = -1;
  int port_ = 0;
  int status_ = kRunning;
  std::string output_;
};

}  // namespace lagvk::test
