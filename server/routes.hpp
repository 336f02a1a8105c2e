#pragma once
// The HTTP routes of lagvk serve: each parses its request (server/requests.hpp), waits for its turn
// (server/request_queue.hpp), generates (server/generation.hpp) and answers in OpenAI's JSON or as
// server-sent events (server/openai_json.hpp). Every failure is an OpenAI-shaped error response.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lagvk/lagvk.hpp"
#include "server/generation.hpp"
#include "server/lag_tasks.hpp"
#include "server/metrics.hpp"
#include "server/reply_memory.hpp"
#include "server/request_queue.hpp"
#include "server/server.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace lagvk::server {

/// What the routes read of the server that owns them (which outlives them).
struct RouteContext {
  const ServerOptions& options;
  const std::string& model_id;
  std::int64_t created;
  const std::unique_ptr<cpp::Model>& model;  ///< set once `loaded` is true
  const std::unique_ptr<cpp::Store>& store;  ///< set once `loaded` is true, when the server has a store
  /// Set once `loaded` is true, when the server has a coprocessor.
  const std::unique_ptr<cpp::Coprocessor>& coprocessor;
  const std::atomic<bool>& loaded;
  const std::atomic<bool>& stopping;
  RequestQueue& queue;
};

class Routes {
 public:
  explicit Routes(const RouteContext& context) : c_(context) {}
  void install(httplib::Server& http);

 private:
  void health(httplib::Response& res) const;
  void models(httplib::Response& res) const;
  void chat_completions(const httplib::Request& req, httplib::Response& res);
  void completions(const httplib::Request& req, httplib::Response& res);
  void embeddings(const httplib::Request& req, httplib::Response& res);
  void metrics(const httplib::Request& req, httplib::Response& res) const;
  void list_logs(const httplib::Request& req, httplib::Response& res) const;
  void show_log(const httplib::Request& req, httplib::Response& res) const;
  void remove_log(const httplib::Request& req, httplib::Response& res);
  void add_log(const httplib::Request& req, httplib::Response& res);

  /// The server's log store; 400 no_log_store when it was started without --store.
  [[nodiscard]] cpp::Store& store() const;
  /// A chat with the `lag` field as the library answers it: the logs the task has gathered plus those
  /// retrieved now (with the question on a task's first request, its latest step on later ones), and a
  /// save that keeps only a final answer when tools are offered.
  [[nodiscard]] LagChat lag_chat(ChatPrompt chat, const LagRequest& lag, bool with_tools,
                                 const std::string& chat_format, const std::string& prefix,
                                 const std::vector<ToolSpec>& tool_specs);
  /// The latents the `augment` request takes (its own, else the server's --latents): 400 when the server
  /// has no coprocessor, or the coprocessor fewer soft tokens (param augment.latents).
  [[nodiscard]] std::uint32_t augment_latents(const AugmentRequest& augment) const;
  /// Sets the server's coprocessor and `latents` (augment_latents) on `chat`.
  void augment_chat(LagChat& chat, std::uint32_t latents) const;

  /// Gives an assistant message that comes back with tool calls and no text the text this server answered
  /// with (ReplyMemory).
  void restore_reply_texts(std::vector<cpp::ChatMessage>& messages) const;
  /// 401 unless the request carries the server's key (when it has one).
  void check_api_key(const httplib::Request& req) const;
  /// 503 while the model loads or the server stops.
  void check_ready() const;
  /// 404 when the request names a model this server does not serve ("" names none: the served one).
  void check_model(const std::string& requested) const;
  /// This request's turn to use the model; 503 with Retry-After when the queue is full or closed.
  [[nodiscard]] RequestQueue::Turn take_turn() const;

  RouteContext c_;
  std::atomic<std::uint64_t> next_id_{1};
  ReplyMemory replies_;  ///< the text of answers that called tools, for clients that send it back empty
  Metrics metrics_;
  LagTasks tasks_;  ///< the logs each `lag` task_id has gathered
};

}  // namespace lagvk::server
