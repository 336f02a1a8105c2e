#pragma once
// HTTP helpers shared by the server tests that talk to `lagvk serve` with httplib directly.
#include <atomic>
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

}  // namespace lagvk::test
