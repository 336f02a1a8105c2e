#pragma once
// HTTP helpers shared by the server tests that talk to `lagvk serve` with httplib directly.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <httplib.h>

namespace lagvk::test {

/// A client of the server on 127.0.0.1:port, with the API key when one is given.
inline httplib::Client server_client(int port, const std::string& key) {
  httplib::Client c("127.0.0.1", port);
  if (!key.empty()) c.set_bearer_token_auth(key.c_str());
  c.set_read_timeout(120, 0);
  return c;
}

/// A streamed completion that runs until `stop_reading` is set (then the client hangs up); `started` is
/// set once its first text arrived.
inline std::thread long_stream(int port, const std::string& key, std::atomic<bool>& started,
                               std::atomic<bool>& stop_reading) {
  return std::thread([port, key, &started, &stop_reading] {
    auto c = server_client(port, key);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.set_header("Content-Type", "application/json");
    req.body = R"({"prompt": "once upon a time", "max_tokens": 1900, "temperature": 0, "stream": true})";
    req.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) {
      started = true;
      return !stop_reading.load();
    };
    (void)c.send(req);
  });
}

/// The status of POSTing `body` to `path` once it is 200 or `limit` has passed (the last status; 0 when
/// the request never got an answer): for waiting until an abandoned generation frees its place.
inline int status_within(httplib::Client& c, const std::string& path, const std::string& body,
                         std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (std::chrono::steady_clock::now() - start < limit) {
    const auto r = c.Post(path, body, "application/json");
    if (!r) return 0;
    status = r->status;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

}  // namespace lagvk::test
