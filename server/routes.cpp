#include "server/routes.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include <httplib.h>

#include "server/api_error.hpp"
#include "server/generation.hpp"
#include "server/lag_json.hpp"
#include "server/openai_json.hpp"
#include "server/requests.hpp"
#include "server/tool_calls.hpp"

namespace lagvk::server {
namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";
/// Seconds a client turned away by a full queue is asked to wait (Retry-After).
constexpr const char* kRetryAfterSeconds = "1";

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), kJson);
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.http_status() == 503) res.set_header("Retry-After", kRetryAfterSeconds);
  send_json(res, e.http_status(), error_body(e));
}

/// The error body for statuses httplib answers by itself (an oversized body, an unknown path).
ApiError error_for_status(int status, std::size_t max_body_bytes) {
  switch (status) {
    case 413:
      return ApiError(413, "invalid_request_error", "request_too_large",
                      "the request body is larger than the server's limit of " +
                          std::to_string(max_body_bytes) + " bytes (lagvk serve --max-body-bytes)");
    case 404:
      return ApiError(404, "invalid_request_error", "not_found",
                      "no such endpoint: see docs/SERVER.md for the routes lagvk serve has");
    case 405:
      return ApiError(405, "invalid_request_error", "method_not_allowed",
                      "this endpoint does not take that method");
    default:
      return ApiError(status, status >= 500 ? "server_error" : "invalid_request_error", "http_error",
                      "the HTTP request could not be handled (status " + std::to_string(status) + ")");
  }
}

/// Runs a route, turning every failure into an error response: nothing a client sends can crash the server.
template <typename F>
void guarded(httplib::Response& res, F&& route) {
  try {
    route();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const cpp::Error& e) {
    send_error(res, api_error_of(e));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, "server_error", "internal_error", e.what()));
  }
}

/// The route label of a request path: the endpoint's path, or "other" for paths the server does not have.
std::string route_label(const std::string& path) {
  for (const char* route : {"/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions",
                            "/v1/embeddings", "/v1/logs"})
    if (path == route) return route;
  if (path.starts_with("/v1/logs/")) return "/v1/logs/{id}";
  return "other";
}

/// v scaled to length 1, as OpenAI's embeddings (and llama-server's by default) are: cosine similarity is
/// then a dot product. A zero vector stays zero.
std::vector<float> unit_length(std::vector<float> v) {
  double sum = 0;
  for (const float x : v) sum += double(x) * x;
  if (sum > 0)
    for (float& x : v) x = float(x / std::sqrt(sum));
  return v;
}

bool write_all(httplib::DataSink& sink, const std::string& data) {
  return sink.write(data.data(), data.size());
}

}  // namespace

void Routes::install(httplib::Server& http) {
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
  http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      check_api_key(req);
      check_ready();
      models(res);
    });
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { chat_completions(req, res); });
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { completions(req, res); });
  });
  http.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { embeddings(req, res); });
  });
  http.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { metrics(req, res); });
  });
  http.Get("/v1/logs", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { list_logs(req, res); });
  });
  http.Post("/v1/logs", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { add_log(req, res); });
  });
  http.Get(R"(/v1/logs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { show_log(req, res); });
  });
  http.Delete(R"(/v1/logs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { remove_log(req, res); });
  });
  // Every answered request is counted, errors httplib answers by itself (413, 404) included.
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.count_request(route_label(req.path), res.status);
  });
  const std::size_t max_body = c_.options.max_body_bytes;
  http.set_payload_max_length(max_body);
  // httplib calls this for every status >= 400: the routes' own errors already have their body.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([max_body](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, error_for_status(res.status, max_body));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "server_error", "internal_error", "the request failed inside the server"));
  });
  // Every waiting request holds a thread: enough threads for the queue, the running generations and a
  // few quick requests (health, models) besides.
  const std::size_t threads = c_.options.queue + c_.options.model_params.n_parallel + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Idle keep-alive connections hold a thread too, and delay shutdown: keep them short.
  http.set_keep_alive_timeout(2);
}

void Routes::health(httplib::Response& res) const {
  if (c_.loaded.load() && !c_.stopping.load())
    send_json(res, 200, {{"status", "ok"}});
  else
    send_json(res, 503, {{"status", c_.stopping.load() ? "stopping" : "loading"}});
}

void Routes::models(httplib::Response& res) const {
  send_json(res, 200, model_list(c_.model_id, c_.created));
}

void Routes::metrics(const httplib::Request& req, httplib::Response& res) const {
  check_api_key(req);
  res.status = 200;
  res.set_content(metrics_.render(c_.queue.waiting()), "text/plain; version=0.0.4; charset=utf-8");
}

void Routes::check_api_key(const httplib::Request& req) const {
  const std::string& key = c_.options.api_key;
  if (key.empty()) return;
  if (req.get_header_value("Authorization") == "Bearer " + key) return;
  throw ApiError(
      401, "invalid_request_error", "invalid_api_key",
      req.has_header("Authorization")
          ? "the API key is not this server's: send 'Authorization: Bearer KEY' with lagvk serve's --api-key"
          : "this server needs an API key: send 'Authorization: Bearer KEY' (lagvk serve --api-key)");
}

void Routes::check_ready() const {
  if (c_.stopping.load())
    throw ApiError(503, "server_error", "server_stopping", "the server is shutting down");
  if (!c_.loaded.load())
    throw ApiError(503, "server_error", "model_loading", "the model is still loading: retry in a moment");
}

void Routes::check_model(const std::string& requested) const {
  if (requested.empty() || requested == c_.model_id) return;
  throw ApiError(404, "invalid_request_error", "model_not_found",
                 "the model '" + requested + "' is not served here: this server serves '" + c_.model_id + "'",
                 "model");
}

RequestQueue::Turn Routes::take_turn() const {
  auto turn = c_.queue.wait_for_turn();
  if (turn) return std::move(*turn);
  if (c_.queue.closed())
    throw ApiError(503, "server_error", "server_stopping", "the server is shutting down");
  throw ApiError(
      503, "server_error", "server_busy",
      "the server is busy: its queue of waiting requests is full (lagvk serve --queue); retry later");
}

namespace {

/// How one request's stream is written: its chunks around the generated text.
struct StreamShape {
  std::string object;                          ///< "chat.completion.chunk" or "text_completion"
  std::function<json(std::string_view)> text;  ///< a chunk carrying generated text
  std::function<json(std::string_view)> last;  ///< the chunk with the finish reason
};

/// Streams a generation as server-sent events. Runs inside httplib's content provider, the status
/// (200) already sent: an error from here on is sent as an event of its own.
bool stream_generation(httplib::DataSink& sink, cpp::Model& model, const PromptInput& prompt,
                       const Sampling& sampling, std::uint32_t prompt_tokens, const StreamShape& shape,
                       const std::optional<json>& first, const ResponseMeta& meta, bool include_usage,
                       const std::atomic<bool>& stopping, Metrics& metrics) {
  if (first && !write_all(sink, sse_event(*first))) return false;
  Outcome outcome;
  try {
    outcome = generate(
        model, prompt, sampling, prompt_tokens,
        [&](std::string_view text) {
          return !stopping.load() && write_all(sink, sse_event(shape.text(text)));
        },
        &metrics);
  } catch (const ApiError& e) {
    return write_all(sink, sse_event(error_body(e))) && write_all(sink, "data: [DONE]\n\n");
  }
  if (outcome.cancelled) return false;  // the client is gone, or the server stops: drop the connection
  json last = shape.last(outcome.finish_reason);
  add_extension_fields(last, outcome);
  if (!write_all(sink, sse_event(last))) return false;
  if (include_usage && !write_all(sink, sse_event(usage_chunk(meta, shape.object, outcome.usage))))
    return false;
  return write_all(sink, "data: [DONE]\n\n");
}

/// Generates the whole text for a non-streaming response.
std::pair<std::string, Outcome> generate_whole(cpp::Model& model, const PromptInput& prompt,
                                               const Sampling& sampling, std::uint32_t prompt_tokens,
                                               const std::atomic<bool>& stopping, Metrics& metrics) {
  std::string text;
  Outcome outcome = generate(
      model, prompt, sampling, prompt_tokens,
      [&](std::string_view piece) {
        text += piece;
        return !stopping.load();
      },
      &metrics);
  if (outcome.cancelled)
    throw ApiError(503, "server_error", "server_stopping", "the server is shutting down");
  return {std::move(text), std::move(outcome)};
}

/// What a chat with tools needs after its generation: the format to parse, the opening forced onto the
/// answer, the tools that may be called, and the ids its calls get.
struct ToolReplyShape {
  std::string chat_format;
  std::string prefix;
  std::vector<ToolSpec> tools;
  std::string call_id_prefix;
};

std::string_view tool_finish_reason(const ParsedReply& reply, const Outcome& outcome) {
  return reply.calls.empty() ? std::string_view(outcome.finish_reason) : "tool_calls";
}

/// Streams a chat with tools: generated whole (the client's hang-up still cancels it), then sent as chunks.
bool stream_tool_reply(httplib::DataSink& sink, cpp::Model& model, const PromptInput& prompt,
                       const Sampling& sampling, std::uint32_t prompt_tokens, const ToolReplyShape& shape,
                       const ResponseMeta& meta, bool include_usage, const std::atomic<bool>& stopping,
                       ReplyMemory& replies, Metrics& metrics) {
  if (!write_all(sink, sse_event(chat_chunk(meta, {{"role", "assistant"}, {"content", ""}}, std::nullopt))))
    return false;
  std::string text;
  Outcome outcome;
  try {
    outcome = generate(
        model, prompt, sampling, prompt_tokens,
        [&](std::string_view piece) {
          text += piece;
          return !stopping.load() && sink.is_writable();
        },
        &metrics);
  } catch (const ApiError& e) {
    return write_all(sink, sse_event(error_body(e))) && write_all(sink, "data: [DONE]\n\n");
  }
  if (outcome.cancelled) return false;
  const ParsedReply reply = parse_reply(shape.chat_format, shape.prefix + text, shape.tools);
  if (!reply.calls.empty()) replies.remember(shape.call_id_prefix + "0", reply.content);
  auto chunks = tool_reply_chunks(meta, reply, shape.call_id_prefix, tool_finish_reason(reply, outcome));
  if (!chunks.empty()) add_extension_fields(chunks.back(), outcome);
  for (const json& chunk : chunks)
    if (!write_all(sink, sse_event(chunk))) return false;
  if (include_usage && !write_all(sink, sse_event(usage_chunk(meta, "chat.completion.chunk", outcome.usage))))
    return false;
  return write_all(sink, "data: [DONE]\n\n");
}

void start_stream(httplib::Response& res, std::shared_ptr<RequestQueue::Turn> turn,
                  std::function<bool(httplib::DataSink&)> body) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [turn = std::move(turn), body = std::move(body)](
                                                            std::size_t, httplib::DataSink& sink) {
    // httplib calls this outside the routes' guard: nothing may escape it (an exception would end the
    // process). A failure past the status line can only drop the connection.
    try {
      if (!body(sink)) return false;
    } catch (const std::exception&) {
      return false;
    }
    sink.done();
    return true;
  });
}

}  // namespace

void Routes::restore_reply_texts(std::vector<cpp::ChatMessage>& messages) const {
  for (auto& m : messages) {
    if (m.role != "assistant" || m.tool_calls_json.empty() || !m.content.empty()) continue;
    const json calls = json::parse(m.tool_calls_json, nullptr, false);
    if (!calls.is_array() || calls.empty() || !calls[0].is_object() || !calls[0].contains("id") ||
        !calls[0]["id"].is_string())
      continue;
    if (auto text = replies_.recall(calls[0]["id"].get<std::string>())) m.content = std::move(*text);
  }
}

void Routes::chat_completions(const httplib::Request& req, httplib::Response& res) {
  check_api_key(req);
  check_ready();
  ChatRequest r = parse_chat_request(req.body);
  check_model(r.model);
  auto turn = std::make_shared<RequestQueue::Turn>(take_turn());
  cpp::Model& model = *c_.model;
  const bool with_tools = !r.tools_json.empty() && r.tool_choice.mode != ToolChoice::Mode::none;
  ToolReplyShape tools{model.info().chat_format, "", r.tools, ""};
  if (with_tools && !format_has_tools(tools.chat_format))
    throw bad_request(
        "unsupported_value",
        "this model's chat format (" + tools.chat_format +
            ") has no tool-call format: tools need a Llama 3.1, Qwen2.5/Qwen3 or plain chat format "
            "(docs/SERVER.md)",
        "tools");
  if (with_tools) tools.prefix = forced_prefix(tools.chat_format, r.tool_choice);
  restore_reply_texts(r.messages);
  // tool_choice "none" offers no tools: the model answers in text, as if none were declared.
  ChatPrompt chat{std::move(r.messages), {with_tools ? r.tools_json : "", tools.prefix, true}};
  PromptInput prompt;
  // What the request asked for is checked first: `augment` on a server without a coprocessor is refused
  // as that, not as a use of the log store the request never named.
  const std::optional<std::uint32_t> latents =
      r.augment ? std::optional<std::uint32_t>(augment_latents(*r.augment)) : std::nullopt;
  if (r.lag || latents) {
    // Augmentation runs where logs are placed (lagvk_ask_chat): without `lag`, with no logs.
    LagChat lag =
        r.lag ? lag_chat(std::move(chat), *r.lag, with_tools, tools.chat_format, tools.prefix, tools.tools)
              : LagChat{std::move(chat), &store(), {}, {}, false};
    if (!r.lag) lag.options.params.mode = LAGVK_LOGS_NONE;
    if (latents) augment_chat(lag, *latents);
    prompt = std::move(lag);
  } else {
    prompt = std::move(chat);
  }
  const std::uint32_t prompt_tokens = checked_prompt_tokens(model, prompt);
  const ResponseMeta meta{"chatcmpl-" + std::to_string(next_id_++), c_.created, c_.model_id};
  // Unique within this run of the server (the reply memory's key) and unlikely to meet another run's.
  tools.call_id_prefix = "call_" + std::to_string(c_.created) + "_" + meta.id.substr(9) + "_";
  if (with_tools && !r.stream) {
    const auto [text, outcome] =
        generate_whole(model, prompt, r.sampling, prompt_tokens, c_.stopping, metrics_);
    const ParsedReply reply = parse_reply(tools.chat_format, tools.prefix + text, tools.tools);
    if (!reply.calls.empty()) replies_.remember(tools.call_id_prefix + "0", reply.content);
    json body = chat_completion_message(meta, tool_reply_message(reply, tools.call_id_prefix),
                                        tool_finish_reason(reply, outcome), outcome.usage);
    add_extension_fields(body, outcome);
    send_json(res, 200, body);
    return;
  }
  if (with_tools) {
    start_stream(res, std::move(turn),
                 [&model, prompt, r, prompt_tokens, tools, meta, this](httplib::DataSink& sink) {
                   return stream_tool_reply(sink, model, prompt, r.sampling, prompt_tokens, tools, meta,
                                            r.include_usage, c_.stopping, replies_, metrics_);
                 });
    return;
  }
  if (!r.stream) {
    const auto [text, outcome] =
        generate_whole(model, prompt, r.sampling, prompt_tokens, c_.stopping, metrics_);
    json body = chat_completion(meta, text, outcome.finish_reason, outcome.usage);
    add_extension_fields(body, outcome);
    send_json(res, 200, body);
    return;
  }
  StreamShape shape{"chat.completion.chunk",
                    [meta](std::string_view text) {
                      return chat_chunk(meta, {{"content", std::string(text)}}, std::nullopt);
                    },
                    [meta](std::string_view reason) { return chat_chunk(meta, json::object(), reason); }};
  const json first = chat_chunk(meta, {{"role", "assistant"}, {"content", ""}}, std::nullopt);
  start_stream(res, std::move(turn),
               [&model, prompt, r, prompt_tokens, shape, first, meta, this](httplib::DataSink& sink) {
                 return stream_generation(sink, model, prompt, r.sampling, prompt_tokens, shape, first, meta,
                                          r.include_usage, c_.stopping, metrics_);
               });
}

void Routes::completions(const httplib::Request& req, httplib::Response& res) {
  check_api_key(req);
  check_ready();
  CompletionRequest r = parse_completion_request(req.body);
  check_model(r.model);
  auto turn = std::make_shared<RequestQueue::Turn>(take_turn());
  cpp::Model& model = *c_.model;
  const PromptInput prompt = std::holds_alternative<std::string>(r.prompt)
                                 ? PromptInput(std::get<std::string>(std::move(r.prompt)))
                                 : PromptInput(std::get<std::vector<std::int32_t>>(std::move(r.prompt)));
  const std::uint32_t prompt_tokens = checked_prompt_tokens(model, prompt);
  const ResponseMeta meta{"cmpl-" + std::to_string(next_id_++), c_.created, c_.model_id};
  if (!r.stream) {
    const auto [text, outcome] =
        generate_whole(model, prompt, r.sampling, prompt_tokens, c_.stopping, metrics_);
    send_json(res, 200, text_completion(meta, text, outcome.finish_reason, outcome.usage));
    return;
  }
  StreamShape shape{"text_completion",
                    [meta](std::string_view text) { return text_chunk(meta, text, std::nullopt); },
                    [meta](std::string_view reason) { return text_chunk(meta, "", reason); }};
  start_stream(res, std::move(turn),
               [&model, prompt, r, prompt_tokens, shape, meta, this](httplib::DataSink& sink) {
                 return stream_generation(sink, model, prompt, r.sampling, prompt_tokens, shape, std::nullopt,
                                          meta, r.include_usage, c_.stopping, metrics_);
               });
}

void Routes::embeddings(const httplib::Request& req, httplib::Response& res) {
  check_api_key(req);
  check_ready();
  const EmbeddingRequest r = parse_embedding_request(req.body);
  check_model(r.model);
  const RequestQueue::Turn turn = take_turn();
  cpp::Model& model = *c_.model;
  std::vector<std::vector<float>> vectors;
  std::uint32_t tokens = 0;
  for (const std::string& text : r.input) {
    tokens += checked_prompt_tokens(model, PromptInput(text));
    vectors.push_back(unit_length(model.embed(text)));
  }
  send_json(res, 200, embeddings_response(c_.model_id, vectors, r.base64, tokens));
}

cpp::Store& Routes::store() const {
  if (!c_.store)
    throw ApiError(400, "invalid_request_error", "no_log_store",
                   "this server has no log store: start it with 'lagvk serve --store DIR' to use logs",
                   "lag");
  return *c_.store;
}

namespace {

/// The latest assistant message's text and calls: an agent's last step, as `lagvk ask --agent` queries
/// with its step's whole line.
std::string latest_assistant_text(const std::vector<cpp::ChatMessage>& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it)
    if (it->role == "assistant")
      return it->tool_calls_json.empty() ? it->content : it->content + " " + it->tool_calls_json;
  return "";
}

std::string first_user_text(const std::vector<cpp::ChatMessage>& messages) {
  for (const auto& m : messages)
    if (m.role == "user") return m.content;
  return "";
}

}  // namespace

LagChat Routes::lag_chat(ChatPrompt chat, const LagRequest& lag, bool with_tools,
                         const std::string& chat_format, const std::string& prefix,
                         const std::vector<ToolSpec>& tool_specs) {
  LagChat out{std::move(chat), &store(), {}, {}};
  cpp::AskOptions& o = out.options;
  o.params.mode = lag.mode;
  o.params.retrieve.k = lag.k;
  o.params.save = lag.save ? 1 : 0;
  o.save_tags = lag.tags;
  if (lag.save && with_tools)
    // A reply that calls a tool is a step, not the end of the task: only a final answer is saved.
    o.save_if = [chat_format, prefix, tool_specs](std::string_view text) {
      return parse_reply(chat_format, prefix + std::string(text), tool_specs).calls.empty();
    };
  std::vector<TaskLog> logs;
  if (lag.mode != LAGVK_LOGS_NONE) {
    const auto taken = lag.task_id.empty() ? std::nullopt : tasks_.logs(lag.task_id);
    // The task's question on its first request; its latest step on each later one.
    const std::string query =
        taken ? latest_assistant_text(out.chat.messages) : first_user_text(out.chat.messages);
    std::vector<TaskLog> found;
    if (lag.k > 0 && !query.empty()) {
      lagvk_retrieve_params params = lagvk_retrieve_params_default();
      params.k = lag.k + std::uint32_t(taken ? taken->size() : 0);  // room for those already taken
      for (const cpp::LogRef& l : out.store->retrieve(query, params)) found.push_back({l.id, l.score});
    }
    logs = gathered_logs(taken.value_or(std::vector<TaskLog>{}), found, lag.k, out.store->log_ids());
    if (lag.max_logs && logs.size() > lag.max_logs) logs.resize(lag.max_logs);  // those taken first stay
    if (!lag.task_id.empty()) tasks_.remember(lag.task_id, logs);
  }
  std::vector<std::uint64_t> ids;
  for (const TaskLog& l : logs) {
    ids.push_back(l.id);
    out.scores[l.id] = l.score;
  }
  o.log_ids = std::move(ids);
  return out;
}

std::uint32_t Routes::augment_latents(const AugmentRequest& augment) const {
  if (!c_.coprocessor)
    throw ApiError(
        400, "invalid_request_error", "no_coprocessor",
        "this server has no coprocessor: start it with 'lagvk serve --coprocessor FILE' to augment",
        "augment");
  if (augment.latents == 0) return c_.options.latents;  // checked when the server started
  try {
    c_.coprocessor->check_latents(augment.latents);
  } catch (const cpp::Error& e) {
    if (e.status() != LAGVK_ERROR_INVALID_ARGUMENT) throw;
    throw bad_request("invalid_value", std::string("'augment.latents': ") + e.what(), "augment.latents");
  }
  return augment.latents;
}

void Routes::augment_chat(LagChat& chat, std::uint32_t latents) const {
  chat.options.params.coprocessor = c_.coprocessor->get();
  chat.options.params.latents = latents;
}

namespace {

/// The id in a /v1/logs/{id} path: decimal digits only.
std::uint64_t log_id_of(const httplib::Request& req) {
  const std::string text = req.matches[1];
  std::uint64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw bad_request("invalid_value", "'" + text + "' is not a log id: log ids are decimal numbers", "id");
  return id;
}

ApiError log_not_found(std::uint64_t id) {
  return ApiError(
      404, "invalid_request_error", "log_not_found",
      "there is no log " + std::to_string(id) + " in this server's store (GET /v1/logs lists them)");
}

}  // namespace

void Routes::list_logs(const httplib::Request& req, httplib::Response& res) const {
  check_api_key(req);
  check_ready();
  cpp::Store& logs = store();
  json data = json::array();
  for (const std::uint64_t id : logs.log_ids()) {
    try {
      data.push_back(log_summary(json::parse(logs.log_json(id))));
    } catch (const cpp::Error& e) {
      // Removed since the listing began, or damaged: a damaged log is listed with the reason.
      if (e.status() == LAGVK_ERROR_NOT_FOUND) continue;
      data.push_back({{"id", id}, {"object", "lag.log"}, {"damaged", e.what()}});
    }
  }
  send_json(res, 200, {{"object", "list"}, {"data", std::move(data)}});
}

void Routes::show_log(const httplib::Request& req, httplib::Response& res) const {
  check_api_key(req);
  check_ready();
  const std::uint64_t id = log_id_of(req);
  try {
    send_json(res, 200, log_detail(json::parse(store().log_json(id))));
  } catch (const cpp::Error& e) {
    if (e.status() == LAGVK_ERROR_NOT_FOUND) throw log_not_found(id);
    throw;
  }
}

void Routes::remove_log(const httplib::Request& req, httplib::Response& res) {
  check_api_key(req);
  check_ready();
  const std::uint64_t id = log_id_of(req);
  try {
    store().remove(id);
  } catch (const cpp::Error& e) {
    if (e.status() == LAGVK_ERROR_NOT_FOUND) throw log_not_found(id);
    throw;
  }
  send_json(res, 200, {{"id", id}, {"object", "lag.log"}, {"deleted", true}});
}

void Routes::add_log(const httplib::Request& req, httplib::Response& res) {
  check_api_key(req);
  check_ready();
  cpp::Store& logs = store();
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    throw bad_request(
        "invalid_json",
        "the request body must be one trace object: {\"task\", \"messages\": [...], \"tags\": [...]}"
        " (docs/LAG.md)");
  const std::optional<AugmentRequest> augment = parse_augment_field(req.body);
  const bool strip = body.contains("augment");  // the trace parser is given the trace alone
  if (strip) body.erase("augment");
  const std::uint32_t latents = augment ? augment_latents(*augment) : 0;
  const std::string trace = strip ? body.dump(-1, ' ', false, json::error_handler_t::replace) : req.body;
  // Encoding the trace runs the model: it waits for its turn like a generation.
  const RequestQueue::Turn turn = take_turn();
  std::uint64_t id = 0;
  try {
    // An augmented log is encoded with its latents and written once (never stored unaugmented first).
    id = augment ? logs.add_trace(trace, *c_.coprocessor, latents) : logs.add_trace(trace);
  } catch (const cpp::Error& e) {
    if (e.status() == LAGVK_ERROR_BAD_INPUT || e.status() == LAGVK_ERROR_INVALID_ARGUMENT)
      throw bad_request("invalid_value", e.what());
    if (e.status() == LAGVK_ERROR_CONTEXT_FULL)
      throw bad_request("context_length_exceeded", e.what(), "messages");
    throw;
  }
  send_json(res, 200, log_summary(log_detail(json::parse(logs.log_json(id)))));
}

}  // namespace lagvk::server
