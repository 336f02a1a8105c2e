#include "server/generation.hpp"

#include <chrono>
#include <random>

#include "server/api_error.hpp"
#include "server/stop_filter.hpp"

namespace lagvk::server {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::uint32_t count_tokens(cpp::Model& model, const PromptInput& prompt) {
  return std::visit(
      Overloaded{
          [&](const ChatPrompt& chat) {
            // Exactly the ids lagvk_chat_ex generates after.
            return std::uint32_t(model.chat_tokenize_ex(chat.messages, chat.params).size());
          },
          [&](const LagChat& lag) {
            // The chat alone: logs that do not fit beside it are left out, not an error.
            return std::uint32_t(model.chat_tokenize_ex(lag.chat.messages, lag.chat.params).size());
          },
          [&](const std::string& text) { return std::uint32_t(model.tokenize(text, true, false).size()); },
          [&](const std::vector<std::int32_t>& ids) {
            for (const std::int32_t id : ids)
              if (std::uint32_t(id) >= model.info().vocab_size)
                throw bad_request("invalid_value",
                                  "'prompt' holds token id " + std::to_string(id) +
                                      ", outside the model's vocabulary of " +
                                      std::to_string(model.info().vocab_size),
                                  "prompt");
            return std::uint32_t(ids.size());
          }},
      prompt);
}

cpp::GenerateOptions options_of(const Sampling& s, std::uint32_t room) {
  cpp::GenerateOptions o;
  o.params.max_tokens = s.max_tokens ? std::min(*s.max_tokens, room) : room;
  if (s.temperature) o.params.temperature = *s.temperature;
  if (s.top_p) o.params.top_p = *s.top_p;
  // A request without a seed is sampled differently each time, as OpenAI's are.
  o.params.seed = s.seed ? *s.seed : std::random_device{}();
  o.stop = s.stop;
  // Prefix reuse: the model keeps each request's cache, and a request that begins as an earlier one did (an
  // agent's next step) prefills only its new tokens. Requests with logs start afresh (the library drops it).
  o.params.reuse_prefix = s.cache_prompt ? 1 : 0;
  return o;
}

cpp::Completion run(cpp::Model& model, const PromptInput& prompt, const cpp::GenerateOptions& options) {
  return std::visit(
      Overloaded{[&](const ChatPrompt& chat) { return model.chat_ex(chat.messages, chat.params, options); },
                 [&](const std::string& text) { return model.generate(text, options); },
                 [&](const std::vector<std::int32_t>& ids) { return model.generate_tokens(ids, options); },
                 [&](const LagChat& lag) {
                   cpp::AskOptions ask = lag.options;
                   ask.params.generate = options.params;
                   ask.stop = options.stop;
                   ask.on_token = options.on_token;
                   return lag.store->ask_chat(lag.chat.messages, lag.chat.params, ask);
                 }},
      prompt);
}

}  // namespace

ApiError api_error_of(const cpp::Error& e) {
  switch (e.status()) {
    case LAGVK_ERROR_CONTEXT_FULL:
      return bad_request("context_length_exceeded", e.what(), "messages");
    case LAGVK_ERROR_BAD_INPUT:
    case LAGVK_ERROR_INVALID_ARGUMENT:
      return bad_request("invalid_value", e.what());
    case LAGVK_ERROR_UNSUPPORTED_MODEL:
      // The served model cannot do what the request asks (an embedding model asked to generate).
      return bad_request("unsupported_model", e.what(), "model");
    default:
      return ApiError(500, "server_error", e.status_name(), e.what());
  }
}

std::uint32_t checked_prompt_tokens(cpp::Model& model, const PromptInput& prompt) {
  std::uint32_t n = 0;
  try {
    n = count_tokens(model, prompt);
  } catch (const cpp::Error& e) {
    throw api_error_of(e);
  }
  const std::uint32_t context = model.info().context_tokens;
  if (n >= context)
    throw bad_request("context_length_exceeded",
                      "the prompt is " + std::to_string(n) + " tokens, and this model's context holds " +
                          std::to_string(context) +
                          " (prompt and completion together): shorten the prompt, or "
                          "start the server with a larger --ctx",
                      std::holds_alternative<ChatPrompt>(prompt) || std::holds_alternative<LagChat>(prompt)
                          ? "messages"
                          : "prompt");
  return n;
}

Outcome generate(cpp::Model& model, const PromptInput& prompt, const Sampling& sampling,
                 std::uint32_t prompt_tokens, const Emit& emit, Metrics* metrics) {
  StopFilter filter(sampling.stop);
  cpp::GenerateOptions options = options_of(sampling, model.info().context_tokens - prompt_tokens);
  Outcome outcome;
  outcome.usage.prompt_tokens = prompt_tokens;
  bool client_gone = false;
  const auto start = std::chrono::steady_clock::now();
  options.on_token = [&](std::int32_t, std::string_view text) {
    if (outcome.usage.completion_tokens++ == 0 && metrics)
      metrics->observe_time_to_first_token(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    const std::string out = filter.push(text);
    if (!out.empty() && !emit(out)) {
      client_gone = true;
      return false;
    }
    // At a stop string the library, which has the same stop strings, ends the generation on this token
    // itself, with its completion: a stop from here would cancel it and lose what a LAG request saves.
    return true;
  };
  try {
    const cpp::Completion c = run(model, prompt, options);
    const std::string rest = filter.finish();
    if (!rest.empty() && !emit(rest)) client_gone = true;
    outcome.usage.prompt_tokens = c.info().prompt_tokens;
    outcome.usage.completion_tokens = std::uint32_t(c.info().n_tokens);
    outcome.usage.cached_tokens = c.info().cached_tokens;
    outcome.finish_reason = filter.stopped() ? "stop" : finish_reason_of(c.stop_reason());
    if (const auto* lag = std::get_if<LagChat>(&prompt)) {
      if (lag->options.params.coprocessor != nullptr)
        outcome.augment = AugmentOutcome{c.info().latents, c.info().augment_ms};
      outcome.lag = LagOutcome{c.logs(), c.skipped(), c.saved_log()};
      for (cpp::LogRef& l : outcome.lag->logs)
        if (const auto it = lag->scores.find(l.id); it != lag->scores.end()) l.score = it->second;
      // The placed logs are part of the prompt; spliced as KV they were served from the store, not prefilled.
      for (const cpp::LogRef& l : outcome.lag->logs) {
        outcome.usage.prompt_tokens += l.tokens;
        if (lag->options.params.mode == LAGVK_LOGS_KV) outcome.usage.cached_tokens += l.tokens;
      }
      if (!lag->report_lag) outcome.lag.reset();
    }
    if (metrics)
      metrics->count_tokens(outcome.usage.prompt_tokens, outcome.usage.completion_tokens,
                            outcome.usage.cached_tokens);
  } catch (const cpp::Error& e) {
    if (e.status() != LAGVK_ERROR_CANCELLED) throw api_error_of(e);
    // Stopped by the filter at a stop string the library had not matched yet: a normal end.
    if (filter.stopped() && !client_gone) {
      outcome.finish_reason = "stop";
      if (metrics) metrics->count_tokens(outcome.usage.prompt_tokens, outcome.usage.completion_tokens, 0);
      return outcome;
    }
    outcome.cancelled = true;
    return outcome;
  }
  outcome.cancelled = client_gone;
  return outcome;
}

}  // namespace lagvk::server
