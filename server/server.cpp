#include "server/server.hpp"

#include <sys/socket.h>

#include <chrono>
#include <filesystem>

#include <httplib.h>

#include "server/routes.hpp"

namespace lagvk::server {

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      model_id_(std::filesystem::path(options_.model_path).filename().string()),
      created_(std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()),
      queue_(options_.queue, options_.model_params.n_parallel),
      http_(std::make_unique<httplib::Server>()) {
  RouteContext context{options_,     model_id_, created_,  model_, store_,
                       coprocessor_, loaded_,   stopping_, queue_};
  routes_ = std::make_unique<Routes>(context);
  routes_->install(*http_);
  // httplib's default options add SO_REUSEPORT, under which a second server binds a port already in use
  // and the two silently share its connections. SO_REUSEADDR alone lets a restarted server take its port
  // back at once (past TIME_WAIT) and still refuses one that another server holds.
  http_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
}

Server::~Server() {
  stop();
  wait();
}

int Server::bind() {
  if (options_.port == 0) return http_->bind_to_any_port(options_.host);
  return http_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
}

void Server::start() {
  listener_ = std::thread([this] {
    http_->listen_after_bind();
    listener_done_.store(true);
  });
}

void Server::load_model() {
  lagvk_model_params params = options_.model_params;
  params.progress = [](void* stopping, std::uint64_t, std::uint64_t) {
    return static_cast<std::atomic<bool>*>(stopping)->load() ? 1 : 0;
  };
  params.progress_user_data = &stopping_;
  model_ = std::make_unique<cpp::Model>(options_.model_path, params);
  lagvk_store_params store_params = cpp::Store::create_params();
  store_params.index_text = options_.index_text;
  if (!options_.embed_model_path.empty()) {
    lagvk_model_params embed_params = lagvk_model_params_default();
    embed_params.device = options_.model_params.device;
    embed_model_ = std::make_unique<cpp::Model>(options_.embed_model_path, embed_params);
    store_params.embed_model = embed_model_->get();
  }
  if (!options_.store_dir.empty())
    store_ = std::make_unique<cpp::Store>(*model_, options_.store_dir, store_params);
  if (!options_.coprocessor_path.empty()) {
    coprocessor_ = std::make_unique<cpp::Coprocessor>(*model_, options_.coprocessor_path);
    try {
      coprocessor_->check_latents(options_.latents);
    } catch (const cpp::Error& e) {
      throw cpp::Error(e.status(), std::string("--latents: ") + e.what());
    }
  }
  loaded_.store(true);
  // A stop that came while the last weights uploaded must still cancel what follows.
  if (stopping_.load()) model_->cancel();
}

void Server::wait() {
  if (listener_.joinable()) listener_.join();
}

void Server::stop() {
  stopping_.store(true);
  queue_.close();
  if (loaded_.load()) model_->cancel();
  std::call_once(http_stopped_, [this] {
    // httplib's stop() does nothing until its listen loop runs: a stop that comes between start() and
    // then (a model that fails to load at once) must wait for the loop, or the server listens forever.
    if (listener_.joinable())
      while (!http_->is_running() && !listener_done_.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    http_->stop();
  });
}

}  // namespace lagvk::server
