// Generation: lagvk_generate tokenizes exactly as `lagvk run -p` does and lagvk_chat renders as
// `lagvk run --chat` does, so that greedy output equals the CLI's. Cancellation (a token callback
// returning non-zero, or lagvk_cancel from another thread) reaches the engine through
// GenerateOptions::stop_requested, which ends generation at the next token with Errc::cancelled; the
// sequence is freed on the way out, so the model stays usable.
#include <cmath>

#include "api/model_access.hpp"

namespace lagvk::api {
namespace {

lagvk_stop_reason stop_reason(const std::string& reason) {
  if (reason == "end_of_generation") return LAGVK_STOP_END_OF_GENERATION;
  if (reason == "context_full") return LAGVK_STOP_CONTEXT_FULL;
  if (reason == "stop_string") return LAGVK_STOP_STOP_STRING;
  return LAGVK_STOP_MAX_TOKENS;
}

}  // namespace

void run_generation(LockedModel& m, std::span<const std::int32_t> prompt, const lagvk_generate_params& p,
                    lagvk_completion** out) {
  GenerateOptions options = generate_options(p);
  Cancellation cancellation(m.handle(), p, options);
  const Tokenizer& tok = m.engine().tokenizer();
  for (auto t : prompt)
    if (t < 0 || std::size_t(t) >= tok.vocab_size())
      fail(Errc::bad_input, "prompt token {} is outside the model's vocabulary of {} tokens", t,
           tok.vocab_size());
  if (m.handle().batched) {
    BatchedGenerator& batched = *m.handle().batched;
    m.unlock();
    *out =
        adopt(completion_of(batched.generate(prompt, options, cancellation.on_token(), p.reuse_prefix != 0)));
    return;
  }
  if (p.reuse_prefix) {
    *out = adopt(completion_of(generate_reusing(m.engine(), prompt, options, cancellation.on_token())));
    return;
  }
  const auto seq = m.engine().new_sequence();  // freed on every way out, cancellation included
  *out = adopt(completion_of(generate(m.engine(), *seq, prompt, options, cancellation.on_token())));
}

GenerateOptions generate_options(const lagvk_generate_params& p) {
  if (std::isnan(p.temperature) || std::isnan(p.top_p) || std::isnan(p.min_p) || std::isnan(p.repeat_penalty))
    fail(Errc::invalid_argument, "a sampling parameter is NaN");
  if (p.repeat_penalty <= 0.0f)
    fail(Errc::invalid_argument, "repeat_penalty is {}: it must be positive (1 disables it)",
         p.repeat_penalty);
  if (p.top_p <= 0.0f)
    fail(Errc::invalid_argument, "top_p is {}: it must be in (0, 1] (1 disables it)", p.top_p);
  if (p.stop == nullptr && p.n_stop > 0)
    fail(Errc::invalid_argument, "stop is NULL but n_stop is {}", p.n_stop);
  GenerateOptions o;
  o.max_tokens = p.max_tokens;
  o.sampling.temperature = p.temperature;
  o.sampling.top_k = p.top_k;
  o.sampling.top_p = p.top_p;
  o.sampling.min_p = p.min_p;
  o.sampling.repeat_penalty = p.repeat_penalty;
  o.sampling.seed = p.seed;
  o.stop_at_end_of_generation = p.ignore_eos == 0;
  for (std::size_t i = 0; i < p.n_stop; ++i) {
    if (p.stop[i] == nullptr) fail(Errc::invalid_argument, "stop string {} is NULL", i);
    o.stop_strings.emplace_back(p.stop[i]);
  }
  return o;
}

lagvk_generate_params generate_params_of(const GenerateOptions& g) {
  lagvk_generate_params p{};
  p.max_tokens = g.max_tokens;
  p.temperature = g.sampling.temperature;
  p.top_k = g.sampling.top_k;
  p.top_p = g.sampling.top_p;
  p.min_p = g.sampling.min_p;
  p.repeat_penalty = g.sampling.repeat_penalty;
  p.seed = g.sampling.seed;
  p.ignore_eos = g.stop_at_end_of_generation ? 0 : 1;
  return p;  // no stop strings, no callback
}

Cancellation::Cancellation(lagvk_model& model, const lagvk_generate_params& p, GenerateOptions& options) {
  options.stop_requested = [this, &model, epoch = model.cancel_epoch.load()] {
    return callback_stopped_ || model.cancel_epoch.load() != epoch;
  };
  if (p.on_token)
    on_token_ = [this, fn = p.on_token, user_data = p.user_data](std::int32_t token, std::string_view text) {
      if (fn(user_data, token, text.data(), text.size()) != 0) callback_stopped_ = true;
    };
}

std::unique_ptr<lagvk_completion> completion_of(GenerateResult r) {
  auto c = std::make_unique<lagvk_completion>();
  c->text = std::move(r.text);
  c->tokens = std::move(r.tokens);
  c->info.stop_reason = stop_reason(r.stop_reason);
  c->info.prompt_tokens = r.timings.prompt_tokens;
  c->info.cached_tokens = r.timings.cached_tokens;
  c->info.time_to_first_token_ms = r.timings.time_to_first_token_ms;
  c->info.prefill_ms = r.timings.prefill_ms;
  c->info.decode_ms = r.timings.decode_ms;
  c->info.decode_tokens_per_s = r.timings.decode_tokens_per_s();
  c->publish();
  return c;
}

}  // namespace lagvk::api

void lagvk_completion::publish() {
  info.text = text.c_str();
  info.text_len = text.size();
  info.tokens = tokens.data();
  info.n_tokens = tokens.size();
  info.logs = logs.data();
  info.n_logs = logs.size();
  info.skipped = skipped.data();
  info.n_skipped = skipped.size();
}

using namespace lagvk;

extern "C" {

lagvk_generate_params lagvk_generate_params_default(void) {
  return api::generate_params_of(GenerateOptions{});
}

lagvk_status lagvk_generate(lagvk_model* model, const char* prompt, const lagvk_generate_params* params,
                            lagvk_completion** out) {
  return api::guarded([&] {
    api::clear_output(out);
    api::LockedModel m(model, "model");
    api::require(prompt, "prompt");
    api::require(params, "params");
    const Tokenizer& tok = m.engine().tokenizer();
    const auto ids = tok.encode(prompt, tok.add_bos_by_default(), false);  // as `lagvk run -p`
    api::run_generation(m, ids, *params, out);
  });
}

lagvk_status lagvk_generate_tokens(lagvk_model* model, const int32_t* prompt, size_t n_prompt,
                                   const lagvk_generate_params* params, lagvk_completion** out) {
  return api::guarded([&] {
    api::clear_output(out);
    api::LockedModel m(model, "model");
    api::require(prompt, "prompt");
    api::require(params, "params");
    api::run_generation(m, std::span<const std::int32_t>(prompt, n_prompt), *params, out);
  });
}

lagvk_status lagvk_chat(lagvk_model* model, const lagvk_message* messages, size_t n_messages,
                        const lagvk_generate_params* params, lagvk_completion** out) {
  return api::guarded([&] {
    api::clear_output(out);
    api::LockedModel m(model, "model");
    api::require(messages, "messages");
    api::require(params, "params");
    const auto chat = api::chat_messages(messages, n_messages);
    const Tokenizer& tok = m.engine().tokenizer();
    // As `lagvk run --chat`: markup parses special tokens, message text cannot forge a turn.
    const auto ids = encode_chat(tok, render_chat_segments(m.engine().chat_template(), chat, true),
                                 tok.add_bos_by_default());
    api::run_generation(m, ids, *params, out);
  });
}

void lagvk_cancel(lagvk_model* model) {
  // No lock: the generation to stop holds it. A dead handle is ignored.
  if (api::is_live(model, api::HandleKind::model)) ++model->cancel_epoch;
}

const lagvk_completion_info* lagvk_completion_get(const lagvk_completion* completion) {
  if (!api::is_live(completion, api::HandleKind::completion)) return nullptr;
  return &completion->info;
}

void lagvk_completion_free(lagvk_completion* completion) {
  if (!api::is_live(completion, api::HandleKind::completion)) return;
  api::unregister_handle(completion);
  delete completion;
}

}  // extern "C"
