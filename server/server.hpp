#pragma once
// lagvk serve's HTTP server: OpenAI-compatible routes over one model loaded through the public API. It
// listens before the model is loaded (GET /health answers 503 until then), runs up to --parallel
// generations at a time (batched by the library) behind a bounded queue, and stops on request: no new
// requests, the running generations cancelled.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lagvk/lagvk.hpp"
#include "server/request_queue.hpp"

namespace httplib {
class Server;
}

namespace lagvk::server {

class Routes;

inline constexpr const char* kDefaultHost = "127.0.0.1";
inline constexpr int kDefaultPort = 8080;
inline constexpr std::size_t kDefaultQueue = 16;
inline constexpr std::size_t kDefaultMaxBodyBytes = std::size_t(16) << 20;

struct ServerOptions {
  std::string model_path;
  std::string host = kDefaultHost;
  int port = kDefaultPort;  ///< 0: any free port (bind() says which)
  lagvk_model_params model_params = lagvk_model_params_default();
  std::string api_key;  ///< "": no key needed
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  std::size_t queue = kDefaultQueue;  ///< requests that may wait while all slots generate
  std::string store_dir;  ///< the log store of `lag` requests and /v1/logs (created if missing); "": none
  std::string embed_model_path;  ///< the store's embedding model (lagvk_store_params.embed_model); "": none
  lagvk_index_text index_text = LAGVK_INDEX_TASK;  ///< what a new store indexes of each log
  /// The cache-augmentation coprocessor of `augment` requests (loaded for the model); "": none.
  std::string coprocessor_path;
  std::uint32_t latents = 0;  ///< latents of a request that names none (0: all the coprocessor's)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the address; returns the port, or -1 when the address cannot be bound (in use, not local).
  [[nodiscard]] int bind();
  /// Serves requests on a thread of its own (bind first).
  void start();
  /// Loads the model and opens the log store (GET /health turns 200 once done). Throws lagvk::cpp::Error
  /// (a store made for another model: LAGVK_ERROR_STORE_MODEL_MISMATCH); a stop() during the load
  /// cancels it (LAGVK_ERROR_CANCELLED).
  void load_model();
  /// Waits until the server has stopped.
  void wait();
  /// Stops accepting, cancels the running generation and wakes queued requests (which get 503). Callable
  /// from any thread, more than once.
  void stop();

  /// The id clients name the model by: its file name.
  [[nodiscard]] const std::string& model_id() const noexcept { return model_id_; }

 private:
  ServerOptions options_;
  std::string model_id_;
  std::int64_t created_ = 0;  ///< when the server started (the model's "created")
  std::unique_ptr<cpp::Model> model_;
  std::unique_ptr<cpp::Model> embed_model_;        ///< the store's embedding model, or none
  std::unique_ptr<cpp::Store> store_;              ///< declared after the models: closed before them
  std::unique_ptr<cpp::Coprocessor> coprocessor_;  ///< the coprocessor of `augment` requests, or none
  std::atomic<bool> loaded_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listener_done_{false};
  std::once_flag http_stopped_;
  RequestQueue queue_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Routes> routes_;
  std::thread listener_;
};

}  // namespace lagvk::server
