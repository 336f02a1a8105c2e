#pragma once
// lagvk's public C++ API for running a model: load a GGUF file onto a Vulkan device, tokenize, and
// generate. The C API (api/, include/lagvk/lagvk.h) and the CLI are built on it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/forward/encoder_forward.hpp"
#include "engine/forward/forward.hpp"
#include "engine/forward/gpu_weights.hpp"
#include "engine/kv/kv_pool.hpp"
#include "engine/model/model.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/vk/context.hpp"

namespace lagvk {

/// The longest context a model may be loaded with (page counts and positions stay far from 32 bits).
inline constexpr std::uint32_t kMaxContextTokens = 1u << 24;

struct LoadOptions {
  int device = -1;                 ///< Vulkan device index; -1: LAGVK_DEVICE or the best device
  std::uint32_t context = 0;       ///< tokens per sequence; 0: the model's, capped at 4096
  std::uint32_t page_tokens = 16;  ///< KV page size (a log store's page size must match)
  std::uint32_t sequences = 1;     ///< sequences that may be live at once (KV pool size)
  std::uint32_t max_batch = 256;   ///< prompt tokens per forward pass
  /// Called while weights upload: (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  /// The Vulkan instance: validation (LAGVK_VALIDATION by default) and the log its messages go to (set
  /// `instance.log` to read them after the engine is gone; else context().validation_log() has them).
  vk::InstanceOptions instance = vk::instance_options_from_env();
};

/// A model resident on a device, with its tokenizer and KV page pool.
class Engine {
 public:
  /// Opens and validates the GGUF file, creates the Vulkan context and uploads the weights.
  [[nodiscard]] static std::unique_ptr<Engine> load(const std::string& path, const LoadOptions& options = {});

  [[nodiscard]] const Model& model() const { return model_; }
  /// A decoder's forward configuration; an embedding model (is_embedding_model()) has none and fails
  /// with Errc::unsupported_model, as do pool(), forward() and new_sequence(): it makes vectors, not text.
  [[nodiscard]] const ForwardConfig& config() const { return decoder_weights().config(); }
  /// An encoder embedding model (arch bert): it runs through encoder(), not forward().
  [[nodiscard]] bool is_embedding_model() const { return encoder_ != nullptr; }
  /// The encoder of an embedding model; fails for a decoder.
  [[nodiscard]] EncoderForward& encoder();
  /// Bytes of weights on the device.
  [[nodiscard]] std::uint64_t weight_bytes() const;
  [[nodiscard]] const Tokenizer& tokenizer() const { return *tokenizer_; }
  /// The model's chat template family (plain when it has none lagvk recognises).
  [[nodiscard]] const ChatTemplate& chat_template() const { return chat_template_; }
  [[nodiscard]] vk::Context& context() { return *ctx_; }
  [[nodiscard]] KvPool& pool();
  [[nodiscard]] Forward& forward();
  [[nodiscard]] std::uint32_t context_tokens() const { return context_tokens_; }
  [[nodiscard]] double load_ms() const { return load_ms_; }

  /// A fresh, empty sequence of context_tokens() capacity. Drops the sequence keep() kept: its pages
  /// return to the pool first (the pool holds one context).
  [[nodiscard]] std::unique_ptr<KvSequence> new_sequence();

  /// Prefix reuse: the sequence keep() kept, cut to the longest prefix it shares with `prompt` but at most
  /// prompt.size() - 1 entries (the last prompt token is always evaluated: its logits begin the answer),
  /// with `reused` set to the entries it still holds; a new sequence (reused 0) when none is kept.
  [[nodiscard]] std::unique_ptr<KvSequence> sequence_for(std::span<const std::int32_t> prompt,
                                                         std::uint32_t& reused);
  /// Keeps `seq`, whose entries hold `tokens` at positions 0.. (no spliced logs), for sequence_for.
  /// Drops a kept LAG context (the pool holds one context beside the one in use).
  void keep(std::unique_ptr<KvSequence> seq, std::vector<std::int32_t> tokens);

  /// A LAG context kept between an agent's steps (engine/lag/ask.cpp; opaque here). Like the kept
  /// sequence it holds pool pages: new_sequence(), sequence_for() and keep() drop it, and keeping it drops
  /// the kept sequence.
  void keep_lag_context(std::shared_ptr<void> context);
  /// The kept LAG context, handed over (null when none).
  [[nodiscard]] std::shared_ptr<void> take_lag_context() { return std::move(kept_lag_); }

 private:
  Engine(Model model, const LoadOptions& options);
  [[nodiscard]] const GpuWeights& decoder_weights() const;
  /// The error for a decoder-only call on an embedding model.
  [[noreturn]] void refuse_embedding_model(std::string_view what) const;

  Model model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ChatTemplate chat_template_;
  std::unique_ptr<vk::Context> ctx_;
  std::unique_ptr<GpuWeights> weights_;
  std::unique_ptr<KvPool> pool_;
  std::unique_ptr<Forward> forward_;
  std::unique_ptr<EncoderForward> encoder_;  ///< embedding models only (then the four above are empty)
  std::uint32_t context_tokens_ = 0;
  double load_ms_ = 0;
  /// The sequence kept for prefix reuse and its entries' tokens; declared after pool_ (it holds pages of
  /// it) so that it is destroyed first.
  std::unique_ptr<KvSequence> kept_;
  std::vector<std::int32_t> kept_tokens_;
  std::shared_ptr<void> kept_lag_;  ///< also holds pages: declared after pool_ for the same reason
};

/// How many leading tokens of a kept cache's `held` tokens a new `prompt` can reuse: their common prefix,
/// but never the prompt's last token (its logits begin the answer, so it is always evaluated).
[[nodiscard]] std::size_t reusable_prefix(std::span<const std::int32_t> held,
                                          std::span<const std::int32_t> prompt);

struct GenerateOptions {
  std::uint32_t max_tokens = 128;
  SamplerParams sampling;  ///< temperature <= 0 is greedy
  bool stop_at_end_of_generation = true;
  /// Generation stops once the text ends with one of these (the string is kept in the output).
  std::vector<std::string> stop_strings;
  /// Asked before each token is sampled and right after each is streamed: when it returns true,
  /// generation ends by throwing lagvk::Error(Errc::cancelled) (a token callback or another thread asked
  /// to stop). The sequence keeps what was evaluated; callers discard or reuse it.
  std::function<bool()> stop_requested;
};

struct GenerateTimings {
  double prefill_ms = 0, decode_ms = 0;
  double time_to_first_token_ms = 0;  ///< from the call to the first generated token
  std::uint32_t prompt_tokens = 0, generated_tokens = 0;
  std::uint32_t cached_tokens = 0;  ///< of prompt_tokens: reused from the kept sequence, not prefilled
  [[nodiscard]] double prefill_tokens_per_s() const {
    return prefill_ms > 0 ? prompt_tokens / prefill_ms * 1e3 : 0;
  }
  [[nodiscard]] double decode_tokens_per_s() const {
    // The first generated token comes out of the prefill; decode speed counts the steps after it.
    return decode_ms > 0 && generated_tokens > 1 ? (generated_tokens - 1) / decode_ms * 1e3 : 0;
  }
};

struct GenerateResult {
  std::vector<std::int32_t> tokens;  ///< generated ids (the prompt excluded)
  std::string text;
  std::string stop_reason;  ///< "end_of_generation", "max_tokens", "context_full", "stop_string"
  GenerateTimings timings;
};

/// Called with each generated token and the text it adds.
using TokenCallback = std::function<void(std::int32_t token, std::string_view text)>;

/// Generates after a context that has already been evaluated: `logits` are those after its last token,
/// and the next token takes position `next_position`. `history` (the context's tokens, for the repetition
/// penalty) may be empty. Timings cover decoding only.
[[nodiscard]] GenerateResult generate_from(Engine& engine, KvSequence& seq, std::vector<float> logits,
                                           std::int32_t next_position, const GenerateOptions& options,
                                           const TokenCallback& on_token = {},
                                           std::span<const std::int32_t> history = {});

/// Appends `prompt` to `seq` at positions first_position.. (by default: continuing the sequence) and
/// generates. Throws lagvk::Error when the prompt does not fit the context.
[[nodiscard]] GenerateResult generate(Engine& engine, KvSequence& seq, std::span<const std::int32_t> prompt,
                                      const GenerateOptions& options, const TokenCallback& on_token = {},
                                      std::optional<std::int32_t> first_position = std::nullopt);

/// generate() with prefix reuse: evaluates only the part of `prompt` the engine's kept sequence does not
/// already hold (Engine::sequence_for), then keeps the sequence (prompt and answer) for the next call. An
/// agent's next step, whose prompt is the last one plus the answer and a tool result, then costs its new
/// tokens. timings.cached_tokens says how many were reused. A failure (cancellation included) keeps nothing.
[[nodiscard]] GenerateResult generate_reusing(Engine& engine, std::span<const std::int32_t> prompt,
                                              const GenerateOptions& options,
                                              const TokenCallback& on_token = {});

}  // namespace lagvk
