// lagvk.hpp: a header-only C++17 wrapper over the C API (lagvk/lagvk.h), which is all it includes of
// lagvk. Handles are move-only owners (freed by their destructors), strings go in as std::string_view
// and come out as std::string, and a failed call throws lagvk::cpp::Error carrying its lagvk_status.
//
// Namespace. Everything is in lagvk::cpp: the library's own code uses lagvk::Error, lagvk::Model and
// lagvk::Engine, and a program that includes this header next to lagvk's internal headers (its tests do)
// must still compile. Write `namespace lv = lagvk::cpp;` for short names.
//
// Callbacks. A token callback is a std::function that returns true to go on and false to stop (the call
// then throws Error with LAGVK_ERROR_CANCELLED). An exception thrown inside it never crosses the C
// library: it is caught, the generation is cancelled, and the exception is rethrown once the C call has
// returned. The threading rules are lagvk.h's: a callback must not call into the same model.
//
//   lagvk::cpp::Model model("model.gguf");
//   lagvk::cpp::Store store(model, "logs/", lagvk::cpp::Store::create_params());
//   lagvk::cpp::Completion answer = store.ask("who directed the glass harbor?");
//   std::cout << answer.text() << "\n";
#ifndef LAGVK_HPP
#define LAGVK_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lagvk/lagvk.h"

namespace lagvk::cpp {

/// A failed lagvk call: status() says what kind of failure (branch on it), what() the message.
class Error : public std::runtime_error {
 public:
  Error(lagvk_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  [[nodiscard]] lagvk_status status() const noexcept { return status_; }
  [[nodiscard]] const char* status_name() const noexcept { return lagvk_status_name(status_); }

 private:
  lagvk_status status_;
};

/// Throws Error for any status but LAGVK_OK, with this thread's message for it.
inline void check(lagvk_status status) {
  if (status != LAGVK_OK) throw Error(status, lagvk_last_error());
}

[[nodiscard]] inline std::string version() {
  return lagvk_version_string();
}

namespace detail {

/// Owns one C handle; Free is its lagvk_*_free / _close function (which accepts NULL).
template <typename T, void (*Free)(T*)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T* p) noexcept : p_(p) {}
  ~Handle() { Free(p_); }
  Handle(Handle&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Free(p_);
      p_ = std::exchange(other.p_, nullptr);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  [[nodiscard]] T* get() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

/// Calls `call` with a T** out-parameter and returns the handle it produced (or throws).
template <typename H, typename T, typename F>
H make(F&& call) {
  T* out = nullptr;
  check(std::forward<F>(call)(&out));
  return H(out);
}

}  // namespace detail

/// Called with each generated token and the text it adds; return false to stop.
using TokenCallback = std::function<bool(std::int32_t token, std::string_view text)>;

/// Generation options: the C parameters (greedy or sampled, see lagvk_generate_params) plus owned stop
/// strings and a std::function callback (params.stop and params.on_token are set from these).
struct GenerateOptions {
  lagvk_generate_params params = lagvk_generate_params_default();
  std::vector<std::string> stop;
  TokenCallback on_token;
};

namespace detail {

/// Routes the C token callback to a TokenCallback. An exception thrown by it is kept (and the
/// generation cancelled) until finish() rethrows it after the C call returns.
class Streamer {
 public:
  explicit Streamer(const TokenCallback& fn) : fn_(fn) {}
  Streamer(const Streamer&) = delete;
  Streamer& operator=(const Streamer&) = delete;

  /// Points params at this streamer (when there is a callback) and at `stop`'s strings.
  void attach(lagvk_generate_params& params, const std::vector<std::string>& stop) {
    stop_ptrs_.clear();
    for (const auto& s : stop) stop_ptrs_.push_back(s.c_str());
    params.stop = stop_ptrs_.empty() ? nullptr : stop_ptrs_.data();
    params.n_stop = stop_ptrs_.size();
    params.on_token = fn_ ? &Streamer::on_token : nullptr;
    params.user_data = fn_ ? this : nullptr;
  }
  /// Rethrows the callback's exception, if any; else checks status.
  void finish(lagvk_status status) {
    if (error_) std::rethrow_exception(error_);
    check(status);
  }

 private:
  static int on_token(void* user_data, std::int32_t token, const char* text, std::size_t len) noexcept {
    auto* self = static_cast<Streamer*>(user_data);
    try {
      return self->fn_(token, std::string_view(text, len)) ? 0 : 1;
    } catch (...) {
      self->error_ = std::current_exception();
      return 1;  // stop: the exception is rethrown once the C call is over
    }
  }

  const TokenCallback& fn_;
  std::vector<const char*> stop_ptrs_;
  std::exception_ptr error_;
};

}  // namespace detail

/// A log as retrieved or placed in a context (lagvk_log_ref, with its task copied).
struct LogRef {
  std::uint64_t id = 0;
  double score = 0;
  std::string task;
  std::uint32_t tokens = 0;
  std::int32_t first_position = 0;
};

struct SkippedLog {
  std::uint64_t id = 0;
  std::string reason;
};

/// The result of a generation or of an ask.
class Completion {
 public:
  explicit Completion(lagvk_completion* c) : h_(c) {}
  [[nodiscard]] const lagvk_completion_info& info() const { return *lagvk_completion_get(h_.get()); }
  [[nodiscard]] std::string_view text() const { return {info().text, info().text_len}; }
  [[nodiscard]] std::vector<std::int32_t> tokens() const {
    return {info().tokens, info().tokens + info().n_tokens};
  }
  [[nodiscard]] lagvk_stop_reason stop_reason() const { return info().stop_reason; }
  /// The logs placed in the context, in context order (ask only).
  [[nodiscard]] std::vector<LogRef> logs() const {
    std::vector<LogRef> out;
    for (std::size_t i = 0; i < info().n_logs; ++i) {
      const lagvk_log_ref& l = info().logs[i];
      out.push_back({l.id, l.score, l.task, l.tokens, l.first_position});
    }
    return out;
  }
  [[nodiscard]] std::vector<SkippedLog> skipped() const {
    std::vector<SkippedLog> out;
    for (std::size_t i = 0; i < info().n_skipped; ++i)
      out.push_back({info().skipped[i].id, info().skipped[i].reason});
    return out;
  }
  /// The id of the log the task was saved as (ask with save).
  [[nodiscard]] std::optional<std::uint64_t> saved_log() const {
    return info().has_saved_log ? std::optional<std::uint64_t>(info().saved_log) : std::nullopt;
  }
  [[nodiscard]] lagvk_completion* get() const noexcept { return h_.get(); }

 private:
  detail::Handle<lagvk_completion, lagvk_completion_free> h_;
};

struct Message {
  std::string role;  ///< "system", "user", "assistant" or "tool"
  std::string content;
};

/// A chat message with tool calls or a tool result (lagvk_chat_message); empty strings are "none".
struct ChatMessage {
  std::string role;
  std::string content;
  std::string tool_calls_json;  ///< an assistant's calls: OpenAI's tool_calls array as JSON
  std::string tool_call_id;     ///< a tool message: the call it answers
};

/// What a chat offers beyond its messages (lagvk_chat_params); empty strings are "none".
struct ChatParams {
  std::string tools_json;        ///< OpenAI's tools array as JSON
  std::string assistant_prefix;  ///< the answer's forced opening (counted as prompt, not in the text)
  bool add_generation_prompt = true;
};

namespace detail {

inline const char* or_null(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}

/// The C view of messages (valid while they live).
inline std::vector<lagvk_chat_message> c_chat_messages(const std::vector<ChatMessage>& messages) {
  std::vector<lagvk_chat_message> c;
  for (const auto& m : messages)
    c.push_back({m.role.c_str(), m.content.c_str(), or_null(m.tool_calls_json), or_null(m.tool_call_id)});
  return c;
}

inline lagvk_chat_params c_chat_params(const ChatParams& chat) {
  lagvk_chat_params p = lagvk_chat_params_default();
  p.tools_json = or_null(chat.tools_json);
  p.assistant_prefix = or_null(chat.assistant_prefix);
  p.add_generation_prompt = chat.add_generation_prompt ? 1 : 0;
  return p;
}

}  // namespace detail

/// A model loaded on a device (lagvk_model).
class Model {
 public:
  explicit Model(const std::string& path, const lagvk_model_params& params = lagvk_model_params_default())
      : h_(detail::make<Handle, lagvk_model>(
            [&](lagvk_model** out) { return lagvk_model_load(path.c_str(), &params, out); })) {}

  [[nodiscard]] const lagvk_model_info& info() const { return *lagvk_model_get_info(h_.get()); }

  [[nodiscard]] std::vector<std::int32_t> tokenize(std::string_view text, bool add_bos = true,
                                                   bool parse_special = false) const {
    std::size_t n = 0;
    const lagvk_status s =
        lagvk_tokenize(h_.get(), text.data(), text.size(), add_bos, parse_special, nullptr, 0, &n);
    if (s != LAGVK_ERROR_BUFFER_TOO_SMALL) check(s);
    std::vector<std::int32_t> tokens(n);
    check(lagvk_tokenize(h_.get(), text.data(), text.size(), add_bos, parse_special, tokens.data(),
                         tokens.size(), &n));
    tokens.resize(n);
    return tokens;
  }

  [[nodiscard]] std::string detokenize(const std::vector<std::int32_t>& tokens) const {
    return text_of([&](char* buf, std::size_t cap, std::size_t* len) {
      return lagvk_detokenize(h_.get(), tokens.data(), tokens.size(), buf, cap, len);
    });
  }

  [[nodiscard]] std::string chat_render(const std::vector<Message>& messages,
                                        bool add_generation_prompt = true) const {
    const auto c = c_messages(messages);
    return text_of([&](char* buf, std::size_t cap, std::size_t* len) {
      return lagvk_chat_render(h_.get(), c.data(), c.size(), add_generation_prompt, buf, cap, len);
    });
  }

  [[nodiscard]] Completion generate(std::string_view prompt, const GenerateOptions& options = {}) {
    const std::string p(prompt);
    return run(options, [&](const lagvk_generate_params* params, lagvk_completion** out) {
      return lagvk_generate(h_.get(), p.c_str(), params, out);
    });
  }

  [[nodiscard]] Completion generate_tokens(const std::vector<std::int32_t>& prompt,
                                           const GenerateOptions& options = {}) {
    return run(options, [&](const lagvk_generate_params* params, lagvk_completion** out) {
      return lagvk_generate_tokens(h_.get(), prompt.data(), prompt.size(), params, out);
    });
  }

  [[nodiscard]] Completion chat(const std::vector<Message>& messages, const GenerateOptions& options = {}) {
    const auto c = c_messages(messages);
    return run(options, [&](const lagvk_generate_params* params, lagvk_completion** out) {
      return lagvk_chat(h_.get(), c.data(), c.size(), params, out);
    });
  }

  /// The chat and its tools as the model's template renders them (lagvk_chat_render_ex).
  [[nodiscard]] std::string chat_render_ex(const std::vector<ChatMessage>& messages,
                                           const ChatParams& chat) const {
    const auto c = detail::c_chat_messages(messages);
    const lagvk_chat_params p = detail::c_chat_params(chat);
    return text_of([&](char* buf, std::size_t cap, std::size_t* len) {
      return lagvk_chat_render_ex(h_.get(), c.data(), c.size(), &p, buf, cap, len);
    });
  }

  /// The exact prompt ids chat_ex generates after (lagvk_chat_tokenize_ex).
  [[nodiscard]] std::vector<std::int32_t> chat_tokenize_ex(const std::vector<ChatMessage>& messages,
                                                           const ChatParams& chat) const {
    const auto c = detail::c_chat_messages(messages);
    const lagvk_chat_params p = detail::c_chat_params(chat);
    std::size_t n = 0;
    const lagvk_status s = lagvk_chat_tokenize_ex(h_.get(), c.data(), c.size(), &p, nullptr, 0, &n);
    if (s != LAGVK_ERROR_BUFFER_TOO_SMALL) check(s);
    std::vector<std::int32_t> tokens(n);
    check(lagvk_chat_tokenize_ex(h_.get(), c.data(), c.size(), &p, tokens.data(), tokens.size(), &n));
    tokens.resize(n);
    return tokens;
  }

  /// A chat with tools, tool calls and results (lagvk_chat_ex).
  [[nodiscard]] Completion chat_ex(const std::vector<ChatMessage>& messages, const ChatParams& chat,
                                   const GenerateOptions& options = {}) {
    const auto c = detail::c_chat_messages(messages);
    const lagvk_chat_params p = detail::c_chat_params(chat);
    return run(options, [&](const lagvk_generate_params* params, lagvk_completion** out) {
      return lagvk_chat_ex(h_.get(), c.data(), c.size(), &p, params, out);
    });
  }

  /// Stops the generation running on this model (from another thread). Thread-safe.
  void cancel() noexcept { lagvk_cancel(h_.get()); }

  [[nodiscard]] std::vector<float> embed(std::string_view text) const {
    std::vector<float> v(info().embedding_size);
    std::size_t dim = 0;
    check(lagvk_embed(h_.get(), text.data(), text.size(), v.data(), v.size(), &dim));
    v.resize(dim);
    return v;
  }

  [[nodiscard]] lagvk_model* get() const noexcept { return h_.get(); }

 private:
  using Handle = detail::Handle<lagvk_model, lagvk_model_free>;

  template <typename F>
  static std::string text_of(F&& call) {
    std::size_t len = 0;
    const lagvk_status s = call(nullptr, 0, &len);
    if (s != LAGVK_ERROR_BUFFER_TOO_SMALL) check(s);
    std::string text(len + 1, '\0');
    check(call(text.data(), text.size(), &len));
    text.resize(len);
    return text;
  }

  static std::vector<lagvk_message> c_messages(const std::vector<Message>& messages) {
    std::vector<lagvk_message> c;
    for (const auto& m : messages) c.push_back({m.role.c_str(), m.content.c_str()});
    return c;
  }

  template <typename F>
  static Completion run(const GenerateOptions& options, F&& call) {
    lagvk_generate_params params = options.params;
    detail::Streamer streamer(options.on_token);
    streamer.attach(params, options.stop);
    lagvk_completion* out = nullptr;
    const lagvk_status s = call(&params, &out);
    Completion c(out);  // owns it whatever happens next
    streamer.finish(s);
    return c;
  }

  Handle h_;
};

/// A cache-augmentation coprocessor loaded beside a model (lagvk_coprocessor_load); it keeps the model
/// loaded while it lives. Pass get() as AskOptions::params.coprocessor (or lagvk_react_params.coprocessor),
/// or to Store::augment_log.
class Coprocessor {
 public:
  Coprocessor(Model& model, const std::string& path)
      : h_(detail::make<Handle, lagvk_coprocessor>([&](lagvk_coprocessor** out) {
          return lagvk_coprocessor_load(model.get(), path.c_str(), out);
        })) {}

  /// The latents one full augmentation appends.
  [[nodiscard]] std::uint32_t latents() const { return lagvk_coprocessor_latents(h_.get()); }
  /// Throws Error (LAGVK_ERROR_INVALID_ARGUMENT) when `latents` (0: all) are more than it has
  /// (lagvk_coprocessor_check_latents).
  void check_latents(std::uint32_t latents) const {
    check(lagvk_coprocessor_check_latents(h_.get(), latents));
  }
  [[nodiscard]] const lagvk_coprocessor* get() const noexcept { return h_.get(); }

 private:
  using Handle = detail::Handle<lagvk_coprocessor, lagvk_coprocessor_free>;
  Handle h_;
};

/// Options of Store::ask: the C parameters plus owned strings and ids (params' pointers are set from these).
struct AskOptions {
  lagvk_ask_params params = lagvk_ask_params_default();
  std::optional<std::vector<std::uint64_t>> log_ids;  ///< use exactly these logs instead of retrieving
  std::optional<std::string> tag;                     ///< retrieve only logs with this tag
  std::vector<std::string> save_tags;                 ///< tags a saved log carries besides `tag`
  /// With params.save: whether the answer's task is saved (empty: always). Must not throw.
  std::function<bool(std::string_view answer)> save_if;
  std::vector<std::string> stop;
  TokenCallback on_token;
};

/// A log store bound to a model (lagvk_store). It keeps the model loaded while it is open.
class Store {
 public:
  Store(Model& model, const std::string& dir, const lagvk_store_params& params = lagvk_store_params_default())
      : h_(detail::make<Handle, lagvk_store>(
            [&](lagvk_store** out) { return lagvk_store_open(model.get(), dir.c_str(), &params, out); })) {}
  /// A store whose dense vectors embed_model makes (lagvk_store_params.embed_model); params' own
  /// embed_model is replaced. The store keeps both models loaded while it is open.
  Store(Model& model, Model& embed_model, const std::string& dir,
        lagvk_store_params params = lagvk_store_params_default())
      : Store(model, dir, with_embed_model(params, embed_model)) {}

  /// lagvk_store_params_default() with create set: a missing or empty directory becomes a new store.
  [[nodiscard]] static lagvk_store_params create_params() {
    lagvk_store_params p = lagvk_store_params_default();
    p.create = 1;
    return p;
  }

  /// Adds a finished task (one trace object as JSON) as a log; returns its id.
  std::uint64_t add_trace(std::string_view trace_json, lagvk_selection selection = LAGVK_SELECT_LAST,
                          bool embed = false) {
    std::uint64_t id = 0;
    check(lagvk_store_add_trace(h_.get(), trace_json.data(), trace_json.size(), selection, embed, &id));
    return id;
  }
  /// Adds a finished task as a log augmented with the coprocessor's first `latents` (0: all), encoded and
  /// written once as `lagvk log add --coprocessor` writes it (lagvk_store_add_trace_ex); returns its id.
  std::uint64_t add_trace(std::string_view trace_json, const Coprocessor& coprocessor,
                          std::uint32_t latents = 0, lagvk_selection selection = LAGVK_SELECT_LAST,
                          bool embed = false) {
    lagvk_add_trace_params p = lagvk_add_trace_params_default();
    p.selection = selection;
    p.embed = embed ? 1 : 0;
    p.coprocessor = coprocessor.get();
    p.latents = latents;
    std::uint64_t id = 0;
    check(lagvk_store_add_trace_ex(h_.get(), trace_json.data(), trace_json.size(), &p, &id));
    return id;
  }

  [[nodiscard]] std::uint64_t count() const {
    std::uint64_t n = 0;
    check(lagvk_store_count(h_.get(), &n));
    return n;
  }

  [[nodiscard]] std::vector<LogRef> retrieve(
      std::string_view query, const lagvk_retrieve_params& params = lagvk_retrieve_params_default()) const {
    const std::string q(query);
    const auto list = detail::make<detail::Handle<lagvk_log_list, lagvk_log_list_free>, lagvk_log_list>(
        [&](lagvk_log_list** out) { return lagvk_store_retrieve(h_.get(), q.c_str(), &params, out); });
    std::vector<LogRef> out;
    for (std::size_t i = 0; i < lagvk_log_list_size(list.get()); ++i) {
      const lagvk_log_ref* l = lagvk_log_list_get(list.get(), i);
      out.push_back({l->id, l->score, l->task, l->tokens, l->first_position});
    }
    return out;
  }

  /// The ids of the store's logs, ascending (lagvk_store_log_ids).
  [[nodiscard]] std::vector<std::uint64_t> log_ids() const {
    std::vector<std::uint64_t> ids;
    std::size_t n = 0;
    // Another process may add logs in between: ask again until the buffer holds them all.
    for (;;) {
      const lagvk_status s = lagvk_store_log_ids(h_.get(), ids.data(), ids.size(), &n);
      if (s != LAGVK_ERROR_BUFFER_TOO_SMALL) {
        check(s);
        break;
      }
      ids.resize(n);
    }
    ids.resize(n);
    return ids;
  }

  /// One log's record as JSON text (lagvk_store_log_json).
  [[nodiscard]] std::string log_json(std::uint64_t id) const {
    std::size_t len = 0;
    const lagvk_status s = lagvk_store_log_json(h_.get(), id, nullptr, 0, &len);
    if (s != LAGVK_ERROR_BUFFER_TOO_SMALL) check(s);
    std::string text(len + 1, '\0');
    check(lagvk_store_log_json(h_.get(), id, text.data(), text.size(), &len));
    text.resize(len);
    return text;
  }

  /// Removes a log (lagvk_store_remove); Error with LAGVK_ERROR_NOT_FOUND when there is none.
  void remove(std::uint64_t id) { check(lagvk_store_remove(h_.get(), id)); }

  /// Augments a stored log in place with the coprocessor's first `latents` (0: all; see
  /// lagvk_store_augment_log); returns the log's latents afterwards.
  std::uint32_t augment_log(std::uint64_t id, const Coprocessor& coprocessor, std::uint32_t latents = 0,
                            bool replace = false) {
    std::uint32_t now = 0;
    check(lagvk_store_augment_log(h_.get(), id, coprocessor.get(), latents, replace ? 1 : 0, &now));
    return now;
  }

  /// Answers question with logs from this store (lagvk_ask).
  [[nodiscard]] Completion ask(std::string_view question, const AskOptions& options = {}) {
    const std::string q(question);
    return with_ask_params(options, [&](const lagvk_ask_params* params, lagvk_completion** out) {
      return lagvk_ask(h_.get(), q.c_str(), params, out);
    });
  }

  /// Answers a chat (with tools, tool calls and results) with logs from this store (lagvk_ask_chat).
  [[nodiscard]] Completion ask_chat(const std::vector<ChatMessage>& messages, const ChatParams& chat,
                                    const AskOptions& options = {}) {
    const auto c = detail::c_chat_messages(messages);
    const lagvk_chat_params p = detail::c_chat_params(chat);
    return with_ask_params(options, [&](const lagvk_ask_params* params, lagvk_completion** out) {
      return lagvk_ask_chat(h_.get(), c.data(), c.size(), &p, params, out);
    });
  }

  [[nodiscard]] lagvk_store* get() const noexcept { return h_.get(); }

 private:
  template <typename F>
  static Completion with_ask_params(const AskOptions& options, F&& call) {
    lagvk_ask_params params = options.params;
    static const std::uint64_t no_ids = 0;  // a non-NULL pointer: "exactly these (none)", not "retrieve"
    if (options.log_ids) {
      params.log_ids = options.log_ids->empty() ? &no_ids : options.log_ids->data();
      params.n_log_ids = options.log_ids->size();
    }
    if (options.tag) params.retrieve.tag = options.tag->c_str();
    std::vector<const char*> tags;
    for (const auto& t : options.save_tags) tags.push_back(t.c_str());
    params.save_tags = tags.data();
    params.n_save_tags = tags.size();
    if (options.save_if) {
      params.save_filter = [](void* data, const char* answer, std::size_t len) -> int {
        return (*static_cast<const std::function<bool(std::string_view)>*>(data))({answer, len}) ? 1 : 0;
      };
      params.save_filter_data = const_cast<std::function<bool(std::string_view)>*>(&options.save_if);
    }
    detail::Streamer streamer(options.on_token);
    streamer.attach(params.generate, options.stop);
    lagvk_completion* out = nullptr;
    const lagvk_status s = call(&params, &out);
    Completion c(out);
    streamer.finish(s);
    return c;
  }

  static lagvk_store_params with_embed_model(lagvk_store_params params, Model& embed_model) {
    params.embed_model = embed_model.get();
    return params;
  }

  using Handle = detail::Handle<lagvk_store, lagvk_store_close>;
  Handle h_;
};

}  // namespace lagvk::cpp

#endif  // LAGVK_HPP
