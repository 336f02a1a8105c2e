// The C API's lagvk_ask: Log-Augmented Generation through the one ask flow `lagvk ask` runs
// (engine/lag/ask.hpp), with the token callback and lagvk_cancel able to stop it (api::Cancellation, as
// every generation of the C API).
#include <algorithm>
#include <mutex>

#include "api/coprocessor_handle.hpp"
#include "api/log_mode.hpp"
#include "api/model_access.hpp"
#include "api/status.hpp"
#include "api/store_handle.hpp"
#include "engine/lag/ask.hpp"
#include "engine/lag/trace.hpp"

namespace lagvk::api {

namespace {

/// The engine's options of `p`; `what` (the caller: lagvk_ask, lagvk_ask_chat) names the call in errors.
lag::AskOptions ask_options_of(const lagvk_store& store, const lagvk_ask_params& p,
                               const std::vector<std::string>& tags, const char* what) {
  lag::AskOptions o;
  o.mode = log_mode_of(p.mode);
  o.k = p.retrieve.k;
  if (p.log_ids != nullptr) o.log_ids = std::vector<lag::LogId>(p.log_ids, p.log_ids + p.n_log_ids);
  if (p.log_ids == nullptr && p.n_log_ids > 0)
    fail(Errc::invalid_argument, "n_log_ids is {} but log_ids is NULL", p.n_log_ids);
  o.tags = tags;
  if (p.save_tags == nullptr && p.n_save_tags > 0)
    fail(Errc::invalid_argument, "n_save_tags is {} but save_tags is NULL", p.n_save_tags);
  for (std::size_t i = 0; i < p.n_save_tags; ++i) {
    if (p.save_tags[i] == nullptr) fail(Errc::invalid_argument, "save_tags[{}] is NULL", i);
    if (std::find(o.tags.begin(), o.tags.end(), p.save_tags[i]) == o.tags.end())
      o.tags.emplace_back(p.save_tags[i]);
  }
  o.save = p.save != 0;
  if (o.save) require_writable(store, fmt::format("{} with save", what).c_str());
  o.selection = selection_of(p.selection);
  o.generate = generate_options(p.generate);
  o.reuse_context = p.generate.reuse_prefix != 0;
  o.augmentation.coprocessor = coprocessor_for(p.coprocessor, store.model, p.latents, what);
  o.augmentation.latents = p.latents;
  return o;
}

/// The generation's completion (api::completion_of) with the LAG fields: the placed and skipped logs, the
/// saved id, and a time to first token that counts placing the logs.
std::unique_ptr<lagvk_completion> ask_completion_of(const lag::AskResult& r) {
  auto c = completion_of(r.generation);
  for (const auto& placed : r.placed) {
    const auto it = std::find_if(r.retrieved.begin(), r.retrieved.end(),
                                 [&](const lag::RetrievedLog& l) { return l.id == placed.id; });
    c->log_tasks.push_back(it != r.retrieved.end() ? it->task : std::string());
    c->logs.push_back({placed.id, it != r.retrieved.end() ? it->score : 0.0, nullptr, placed.tokens,
                       placed.first_position});
  }
  for (const auto& s : r.skipped) {
    c->skipped_reasons.push_back(s.reason);
    c->skipped.push_back({s.id, nullptr});
  }
  for (std::size_t i = 0; i < c->logs.size(); ++i) c->logs[i].task = c->log_tasks[i].c_str();
  for (std::size_t i = 0; i < c->skipped.size(); ++i) c->skipped[i].reason = c->skipped_reasons[i].c_str();
  lagvk_completion_info& info = c->info;
  info.prompt_tokens = r.prompt_tokens;
  info.time_to_first_token_ms = r.time_to_first_token_ms;
  info.prefill_ms = r.prompt_prefill_ms;
  info.logs_ms = r.logs_ms;
  info.has_saved_log = r.saved ? 1 : 0;
  info.saved_log = r.saved.value_or(0);
  info.latents = r.augmentation.latents;
  info.augment_ms = r.augmentation.ms;
  c->publish();
  return c;
}

/// The params' save filter as the engine's hook (empty when there is none).
std::function<bool(const GenerateResult&)> save_filter_of(const lagvk_ask_params& p) {
  if (p.save_filter == nullptr) return {};
  return [filter = p.save_filter, data = p.save_filter_data](const GenerateResult& r) {
    return filter(data, r.text.c_str(), r.text.size()) != 0;
  };
}

/// The saved trace's text of a chat message: its content, then each tool call as one JSON line (the trace
/// format has no tool calls of its own).
std::string trace_content(const ChatMessage& m) {
  std::string text = m.content;
  for (const auto& call : m.tool_calls)
    text += (text.empty() ? "" : "\n") +
            fmt::format(R"({{"name": "{}", "arguments": {}}})", call.name, call.arguments);
  return text;
}

/// The chat's task (its first user message; else its first message) and the messages a saved log keeps.
lag::Trace chat_trace(std::span<const ChatMessage> chat, const std::vector<std::string>& tags) {
  lag::Trace t;
  for (const auto& m : chat)
    if (m.role == "user") {
      t.task = m.content;
      break;
    }
  if (t.task.empty() && !chat.empty()) t.task = chat.front().content;
  for (const auto& m : chat) t.messages.push_back({m.role, trace_content(m)});
  t.tags = tags;
  return t;
}

/// lagvk_ask_chat's prompt: the logs (given or retrieved with the task), then the chat's tokens.
lag::LogPrompt chat_log_prompt(lagvk_store& store, lag::LogLibrary& library,
                               std::span<const ChatMessage> chat, const lagvk_chat_params* params,
                               const lag::AskOptions& options) {
  Engine& engine = *store.model->engine;
  lag::LogPrompt prompt;
  prompt.task = chat_trace(chat, options.tags);
  if (options.mode != lag::LogMode::none)
    prompt.logs = options.log_ids ? lag::given_logs(*store.store, *options.log_ids)
                                  : library.retrieve(prompt.task.task, options.k, {});
  ChatText text = render_chat_ex(engine, chat, params);
  const Tokenizer& tok = engine.tokenizer();
  // The same tokens after logs as without: the paper's layout is [logs][BOS + prompt].
  prompt.tokens = encode_chat(tok, text, tok.add_bos_by_default());
  return prompt;
}

/// A model with parallel slots: the answer is decoded in the batched passes beside the other calls (the
/// logs and the prompt are placed under the lock first, the task is saved under it after), and idle slots
/// give up their caches if the pool lacks room for this context.
void share_passes(lagvk_model& model, std::unique_lock<std::mutex>& lock, lag::AskHooks& hooks) {
  Engine& engine = *model.engine;
  const std::uint32_t page = engine.pool().shape().page_tokens;
  // A context's pages, and one more per log for the partly used page each may end with.
  model.batched->release_idle_caches((engine.context_tokens() + page - 1) / page + 64);
  hooks.decode = [&model, &lock](KvSequence& seq, std::vector<float> logits, std::int32_t next_position,
                                 const GenerateOptions& options, const TokenCallback& on_token,
                                 std::span<const std::int32_t> history) {
    lock.unlock();
    GenerateResult r;
    try {
      r = model.batched->continue_sequence(seq, std::move(logits), next_position, options, on_token, history);
    } catch (...) {
      lock.lock();  // the sequence is freed on the way out, under the lock like every pool change
      throw;
    }
    lock.lock();
    return r;
  };
}

/// What lagvk_ask and lagvk_ask_chat share: the checks, the store's model lock, the library and options of
/// the params, cancellation and the save filter, and the completion handed out; `answer` runs the flow.
template <typename Answer>
lagvk_status answer_with_store(const char* what, lagvk_store* store, const lagvk_ask_params* params,
                               lagvk_completion** out, Answer&& answer) {
  if (out) *out = nullptr;
  return guarded([&] {
    checked_store(store);
    require(out, "out");
    const lagvk_ask_params p = *require(params, "params");
    lagvk_model& model = *store->model;
    ModelLocks locks(*store);
    std::vector<std::string> tags;
    const auto library = library_for(*store, p.retrieve, tags);
    lag::AskOptions options = ask_options_of(*store, p, tags, what);
    options.embedder = store->embedder;
    const Cancellation cancellation(model, p.generate, options.generate);
    lag::AskHooks hooks;
    hooks.on_token = cancellation.on_token();
    hooks.should_save = save_filter_of(p);
    if (model.batched) share_passes(model, locks.model_lock(), hooks);
    auto completion = ask_completion_of(answer(*store, *library, options, hooks));
    register_handle(completion.get());
    *out = completion.release();
  });
}

}  // namespace

}  // namespace lagvk::api

namespace api = lagvk::api;

extern "C" {

lagvk_ask_params lagvk_ask_params_default(void) {
  const lagvk::lag::AskOptions defaults;
  lagvk_ask_params p{};
  p.mode = defaults.mode == lagvk::lag::LogMode::kv     ? LAGVK_LOGS_KV
           : defaults.mode == lagvk::lag::LogMode::text ? LAGVK_LOGS_TEXT
                                                        : LAGVK_LOGS_NONE;
  p.retrieve = lagvk_retrieve_params_default();
  p.log_ids = nullptr;
  p.n_log_ids = 0;
  p.save = defaults.save ? 1 : 0;
  for (const lagvk_selection s :
       {LAGVK_SELECT_LAST, LAGVK_SELECT_ALL, LAGVK_SELECT_ANSWER, LAGVK_SELECT_FULL})
    if (api::selection_of(s) == defaults.selection) p.selection = s;
  p.generate = api::generate_params_of(defaults.generate);
  p.save_tags = nullptr;
  p.n_save_tags = 0;
  p.save_filter = nullptr;
  p.save_filter_data = nullptr;
  p.coprocessor = nullptr;
  p.latents = defaults.augmentation.latents;
  return p;
}

lagvk_status lagvk_ask(lagvk_store* store, const char* question, const lagvk_ask_params* params,
                       lagvk_completion** out) {
  return api::answer_with_store(
      "lagvk_ask", store, params, out,
      [&](lagvk_store& s, lagvk::lag::LogLibrary& library, const lagvk::lag::AskOptions& options,
          const lagvk::lag::AskHooks& hooks) {
        api::require(question, "question");
        return lagvk::lag::ask(*s.model->engine, *s.store, library, question, options, hooks);
      });
}

lagvk_status lagvk_ask_chat(lagvk_store* store, const lagvk_chat_message* messages, size_t n_messages,
                            const lagvk_chat_params* chat, const lagvk_ask_params* params,
                            lagvk_completion** out) {
  return api::answer_with_store(
      "lagvk_ask_chat", store, params, out,
      [&](lagvk_store& s, lagvk::lag::LogLibrary& library, const lagvk::lag::AskOptions& options,
          const lagvk::lag::AskHooks& hooks) {
        api::require(chat, "chat");
        const auto messages_in = api::chat_messages_ex(messages, n_messages);
        if (messages_in.empty())
          lagvk::fail(lagvk::Errc::invalid_argument, "lagvk_ask_chat needs at least one message");
        const auto prompt = api::chat_log_prompt(s, library, messages_in, chat, options);
        return lagvk::lag::answer_with_logs(*s.model->engine, *s.store, library, prompt, options, hooks);
      });
}

}  // extern "C"
