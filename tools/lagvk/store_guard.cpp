#include "tools/lagvk/store_guard.hpp"

#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

namespace lagvk::cli {

namespace {

// A signal handler can only use what is prepared for it: the message is written before the guard arms.
char g_message[2048];
std::size_t g_message_size = 0;
volatile sig_atomic_t g_armed = 0;

extern "C" void on_store_fault(int, siginfo_t*, void*) {
  // Only async-signal-safe calls: write(2) and _exit(2).
  if (g_message_size > 0) (void)!::write(STDERR_FILENO, g_message, g_message_size);
  ::_exit(1);
}

}  // namespace

std::optional<std::string> store_hint(Errc code) {
  switch (code) {
    case Errc::store:
      return "'lagvk log verify --store DIR' checks a store; 'lagvk log rm --store DIR ID' removes a damaged "
             "log; 'lagvk log export' / 'log import' move logs to a new store";
    case Errc::store_model_mismatch:
      return "a store belongs to the model that made it: give this model another --store directory";
    case Errc::not_found:
      return "'lagvk log ls --store DIR' lists the logs and their ids";
    default:
      return std::nullopt;
  }
}

StoreFaultGuard::StoreFaultGuard(const std::string& store_dir) {
  if (g_armed) return;
  const std::string message = fmt::format(
      "error: the log store '{}' is damaged (reading it faulted outside its file); restore it from an export "
      "or backup\n",
      store_dir);
  g_message_size = std::min(message.size(), sizeof g_message);
  std::memcpy(g_message, message.data(), g_message_size);
  struct sigaction sa {};
  sa.sa_sigaction = on_store_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &old_bus_);
  ::sigaction(SIGSEGV, &sa, &old_segv_);
  g_armed = 1;
  installed_ = true;
}

StoreFaultGuard::~StoreFaultGuard() {
  if (!installed_) return;
  ::sigaction(SIGBUS, &old_bus_, nullptr);
  ::sigaction(SIGSEGV, &old_segv_, nullptr);
  g_armed = 0;
}

}  // namespace lagvk::cli
