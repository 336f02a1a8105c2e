#include "engine/api/engine.hpp"

#include "engine/api/continuation.hpp"

#include <algorithm>
#include <chrono>

#include "engine/core/error.hpp"
#include "engine/forward/model_weights.hpp"

namespace lagvk {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
}  // namespace

std::unique_ptr<Engine> Engine::load(const std::string& path, const LoadOptions& options) {
  const auto t0 = Clock::now();
  auto engine = std::unique_ptr<Engine>(new Engine(Model::open(path), options));
  engine->load_ms_ = ms_since(t0);
  return engine;
}

Engine::Engine(Model model, const LoadOptions& options) : model_(std::move(model)) {
  tokenizer_ = make_tokenizer(model_.gguf());
  chat_template_ = detect_chat_template(model_.gguf());
  vk::ContextOptions ctx_options;
  ctx_options.device_index = options.device;
  ctx_options.instance = options.instance;
  if (model_.config().traits.embedding_only()) {
    ctx_ = std::make_unique<vk::Context>(ctx_options);
    encoder_ = std::make_unique<EncoderForward>(*ctx_, model_, options.progress);
    context_tokens_ = encoder_->max_tokens();
    return;
  }
  const std::uint32_t trained = model_.config().n_ctx_train ? model_.config().n_ctx_train : 4096;
  context_tokens_ = options.context ? options.context : std::min(trained, 4096u);
  // Validates shapes and formats before touching the GPU; the context picks phi3's RoPE factors.
  const HostWeights host = host_weights(model_, context_tokens_);
  ctx_ = std::make_unique<vk::Context>(ctx_options);
  weights_ = std::make_unique<GpuWeights>(*ctx_, host, options.progress);
  const auto& c = weights_->config();
  if (context_tokens_ > kMaxContextTokens)
    fail(Errc::invalid_argument, "a context of {} tokens exceeds the {} lagvk supports", context_tokens_,
         kMaxContextTokens);
  if (options.page_tokens == 0) fail(Errc::invalid_argument, "the KV page size must be at least one token");
  const std::uint32_t pages_per_sequence = (context_tokens_ + options.page_tokens - 1) / options.page_tokens;
  pool_ = std::make_unique<KvPool>(*ctx_, KvShape{c.layers, c.kv_heads, c.head_dim, options.page_tokens},
                                   pages_per_sequence * std::max(options.sequences, 1u));
  forward_ = std::make_unique<Forward>(*ctx_, *weights_, options.max_batch);
}

void Engine::refuse_embedding_model(std::string_view what) const {
  const auto& c = model_.config();
  fail(Errc::unsupported_model,
       "'{}' is an embedding model ({}): it turns text into vectors and cannot {}; use it with lagvk embed "
       "(lagvk_embed in the C API)",
       model_.gguf().path(), c.arch, what);
}

const GpuWeights& Engine::decoder_weights() const {
  if (encoder_) refuse_embedding_model("generate text");
  return *weights_;
}

KvPool& Engine::pool() {
  if (encoder_) refuse_embedding_model("hold a KV cache");
  return *pool_;
}

Forward& Engine::forward() {
  if (encoder_) refuse_embedding_model("generate text");
  return *forward_;
}

EncoderForward& Engine::encoder() {
  if (!encoder_)
    fail(Errc::invalid_argument, "'{}' is a decoder ({}), not an encoder embedding model",
         model_.gguf().path(), model_.config().arch);
  return *encoder_;
}

std::uint64_t Engine::weight_bytes() const {
  return encoder_ ? encoder_->weight_bytes() : weights_->bytes();
}

std::unique_ptr<KvSequence> Engine::new_sequence() {
  if (encoder_) refuse_embedding_model("generate text");
  kept_.reset();
  kept_tokens_.clear();
  kept_lag_.reset();
  return std::make_unique<KvSequence>(*ctx_, *pool_, context_tokens_);
}

std::size_t reusable_prefix(std::span<const std::int32_t> held, std::span<const std::int32_t> prompt) {
  const std::size_t limit = std::min(held.size(), prompt.empty() ? 0 : prompt.size() - 1);
  std::size_t shared = 0;
  while (shared < limit && held[shared] == prompt[shared]) ++shared;
  return shared;
}

std::unique_ptr<KvSequence> Engine::sequence_for(std::span<const std::int32_t> prompt,
                                                 std::uint32_t& reused) {
  reused = 0;
  if (!kept_) return new_sequence();
  reused = std::uint32_t(reusable_prefix(kept_tokens_, prompt));
  std::unique_ptr<KvSequence> seq = std::move(kept_);
  kept_tokens_.clear();
  seq->truncate(reused);
  return seq;
}

void Engine::keep(std::unique_ptr<KvSequence> seq, std::vector<std::int32_t> tokens) {
  if (tokens.size() != seq->length())
    fail(Errc::internal, "a kept sequence of {} entries was given {} tokens", seq->length(), tokens.size());
  kept_lag_.reset();
  kept_ = std::move(seq);
  kept_tokens_ = std::move(tokens);
}

void Engine::keep_lag_context(std::shared_ptr<void> context) {
  kept_.reset();
  kept_tokens_.clear();
  kept_lag_ = std::move(context);
}

namespace {
void stop_if_requested(const GenerateOptions& options, std::size_t generated) {
  if (options.stop_requested && options.stop_requested())
    fail(Errc::cancelled, "generation was cancelled after {} token{}", generated, generated == 1 ? "" : "s");
}
}  // namespace

GenerateResult generate_from(Engine& engine, KvSequence& seq, std::vector<float> logits,
                             std::int32_t next_position, const GenerateOptions& options,
                             const TokenCallback& on_token, std::span<const std::int32_t> history) {
  Continuation continuation(engine.tokenizer(), options, history);
  const auto t_decode = Clock::now();
  std::int32_t position = next_position;
  double first_token_ms = 0;
  for (bool first = true; !continuation.finished(); first = false) {
    stop_if_requested(options, continuation.generated());
    const auto step = continuation.step(logits, seq.length() + 1 <= seq.max_tokens());
    if (first) first_token_ms = ms_since(t_decode);
    if (step.emitted) {
      if (on_token) on_token(step.token, step.added);
      stop_if_requested(options, continuation.generated());
    }
    if (step.finished) break;
    const std::int32_t pos = position++;
    logits = engine.forward().eval(seq, std::span<const std::int32_t>(&step.token, 1),
                                   std::span<const std::int32_t>(&pos, 1));
  }
  GenerateResult result = std::move(continuation.result());
  result.timings.time_to_first_token_ms = first_token_ms;
  result.timings.decode_ms = ms_since(t_decode);
  result.timings.generated_tokens = std::uint32_t(result.tokens.size());
  return result;
}

GenerateResult generate(Engine& engine, KvSequence& seq, std::span<const std::int32_t> prompt,
                        const GenerateOptions& options, const TokenCallback& on_token,
                        std::optional<std::int32_t> first_position) {
  if (prompt.empty()) fail(Errc::invalid_argument, "the prompt is empty: give some text or token ids");
  if (std::uint64_t(seq.length()) + prompt.size() > seq.max_tokens())
    fail(Errc::context_full,
         "the prompt has {} tokens but the context has room for {} (of {}); shorten the prompt or load the "
         "model with a larger context",
         prompt.size(), seq.max_tokens() - seq.length(), seq.max_tokens());
  std::int32_t position = first_position.value_or(std::int32_t(seq.length()));
  std::vector<std::int32_t> positions(prompt.size());
  for (auto& p : positions) p = position++;
  const auto t0 = Clock::now();
  std::vector<float> logits = engine.forward().eval(seq, prompt, positions);
  const double prefill_ms = ms_since(t0);
  GenerateResult result = generate_from(engine, seq, std::move(logits), position, options, on_token, prompt);
  result.timings.prompt_tokens = std::uint32_t(prompt.size());
  result.timings.prefill_ms = prefill_ms;
  result.timings.time_to_first_token_ms += prefill_ms;
  return result;
}

GenerateResult generate_reusing(Engine& engine, std::span<const std::int32_t> prompt,
                                const GenerateOptions& options, const TokenCallback& on_token) {
  if (prompt.empty()) fail(Errc::invalid_argument, "the prompt is empty: give some text or token ids");
  std::uint32_t reused = 0;
  std::unique_ptr<KvSequence> seq = engine.sequence_for(prompt, reused);
  const auto suffix = prompt.subspan(reused);
  if (std::uint64_t(seq->length()) + suffix.size() > seq->max_tokens())
    fail(
        Errc::context_full,
        "the prompt has {} tokens but the context has room for {}; shorten the prompt or load the model with "
        "a larger context",
        prompt.size(), seq->max_tokens());
  std::vector<std::int32_t> positions(suffix.size());
  for (std::size_t i = 0; i < positions.size(); ++i) positions[i] = std::int32_t(reused + i);
  const auto t0 = Clock::now();
  std::vector<float> logits = engine.forward().eval(*seq, suffix, positions);
  const double prefill_ms = ms_since(t0);
  // The whole prompt is the history the repetition penalty sees, as without reuse.
  GenerateResult result =
      generate_from(engine, *seq, std::move(logits), std::int32_t(prompt.size()), options, on_token, prompt);
  result.timings.prompt_tokens = std::uint32_t(prompt.size());
  result.timings.cached_tokens = reused;
  result.timings.prefill_ms = prefill_ms;
  result.timings.time_to_first_token_ms += prefill_ms;
  // The sequence holds the prompt and the answer but its last token (sampled, never evaluated).
  std::vector<std::int32_t> held(prompt.begin(), prompt.end());
  held.insert(held.end(), result.tokens.begin(), result.tokens.end());
  held.resize(seq->length());
  engine.keep(std::move(seq), std::move(held));
  return result;
}

}  // namespace lagvk
