#include "engine/api/batched_generator.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "engine/api/continuation.hpp"
#include "engine/core/error.hpp"

namespace lagvk {

namespace {
using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
/// Prompt tokens a pass takes from one slot while others decode: small enough that their next tokens
/// are not held up long, large enough that the weights are read for many rows at once.
constexpr std::uint32_t kPrefillChunkBesideDecodes = 64;
/// How often a waiting caller looks at its stop_requested (a client gone, a shutdown).
constexpr auto kPollInterval = std::chrono::milliseconds(20);

[[noreturn]] void fail_cancelled(std::size_t generated) {
  fail(Errc::cancelled, "generation was cancelled after {} token{}", generated, generated == 1 ? "" : "s");
}
}  // namespace

/// One generate() call: what the caller gave, and what the worker hands back (tokens as they come, then
/// the result or the error).
struct BatchedGenerator::Request {
  Request(std::span<const std::int32_t> p, const GenerateOptions& o, bool reuse)
      : prompt(p.begin(), p.end()), options(o), reuse_prefix(reuse) {}

  const std::vector<std::int32_t> prompt;  ///< a guest's: its history (for the repetition penalty)
  /// A guest (continue_sequence): the caller's filled sequence, the logits after it and the next position.
  KvSequence* guest = nullptr;
  std::vector<float> guest_logits;
  std::int32_t guest_position = 0;
  const GenerateOptions& options;  ///< the caller's: it is blocked in generate() until `done`
  const bool reuse_prefix;
  const Clock::time_point submitted = Clock::now();
  std::atomic<bool> cancel{false};

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::int32_t, std::string>> tokens;  ///< streamed, not yet given to the caller
  bool done = false;
  std::exception_ptr error;
  GenerateResult result;

  void stream(std::int32_t token, std::string_view text) {
    {
      const std::lock_guard lock(mutex);
      tokens.emplace_back(token, std::string(text));
    }
    changed.notify_one();
  }
  void complete(GenerateResult r, std::exception_ptr e) {
    {
      const std::lock_guard lock(mutex);
      result = std::move(r);
      error = std::move(e);
      done = true;
    }
    changed.notify_one();
  }
};

/// A KV sequence that outlives requests, with the tokens its entries hold; the request using it, if any.
struct BatchedGenerator::Slot {
  std::unique_ptr<KvSequence> own;           ///< a slot's sequence (null for a guest)
  KvSequence* seq = nullptr;                 ///< the sequence in use: own, or the guest's
  std::vector<std::int32_t> held;            ///< the tokens of seq's entries (positions 0..)
  std::shared_ptr<Request> request;          ///< null: free (set and cleared by the worker under mutex_)
  bool started = false;                      ///< the request's sequence is set up (cache cut to its prefix)
  std::uint32_t cached = 0;                  ///< prompt tokens found in the cache
  std::optional<Continuation> continuation;  ///< once the prompt is evaluated
  std::int32_t next_token = -1;              ///< sampled, to be evaluated in the next pass
  std::int32_t next_position = 0;            ///< the position it takes
  std::uint64_t last_used = 0, admitted = 0;
  Clock::time_point prefill_start, first_token;
  double prefill_ms = 0;

  [[nodiscard]] bool decoding() const { return continuation.has_value(); }
  [[nodiscard]] std::uint32_t prompt_left() const {
    if (request->guest) return 0;
    return std::uint32_t(request->prompt.size() - std::min(request->prompt.size(), held.size()));
  }
};

BatchedGenerator::BatchedGenerator(Engine& engine, std::uint32_t slots, std::mutex& device_lock)
    : engine_(engine), device_lock_(device_lock) {
  if (slots == 0) fail(Errc::invalid_argument, "a batched generator needs at least one slot");
  (void)engine_.pool();  // an embedding model is refused here, not in the worker
  for (std::uint32_t i = 0; i < slots; ++i) slots_.push_back(std::make_unique<Slot>());
  worker_ = std::thread([this] { run(); });
}

BatchedGenerator::~BatchedGenerator() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  worker_.join();
  const std::lock_guard device(device_lock_);  // the slots' pages return to the shared pool
  slots_.clear();
  guests_.clear();
}

std::uint32_t BatchedGenerator::active() const {
  const std::lock_guard lock(mutex_);
  return std::uint32_t(
      std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->request != nullptr; }));
}

std::uint32_t BatchedGenerator::waiting() const {
  const std::lock_guard lock(mutex_);
  return std::uint32_t(queue_.size());
}

GenerateResult BatchedGenerator::generate(std::span<const std::int32_t> prompt,
                                          const GenerateOptions& options, const TokenCallback& on_token,
                                          bool reuse_prefix) {
  if (prompt.empty()) fail(Errc::invalid_argument, "the prompt is empty: give some text or token ids");
  if (prompt.size() > engine_.context_tokens())
    fail(
        Errc::context_full,
        "the prompt has {} tokens but the context has room for {}; shorten the prompt or load the model with "
        "a larger context",
        prompt.size(), engine_.context_tokens());
  const auto request = std::make_shared<Request>(prompt, options, reuse_prefix);
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) fail(Errc::cancelled, "the model is being freed: no new generation starts");
    queue_.push_back(request);
  }
  work_.notify_one();

  return wait_for(request, options, on_token);
}

GenerateResult BatchedGenerator::continue_sequence(KvSequence& seq, std::vector<float> logits,
                                                   std::int32_t next_position, const GenerateOptions& options,
                                                   const TokenCallback& on_token,
                                                   std::span<const std::int32_t> history) {
  const auto request = std::make_shared<Request>(history, options, false);
  request->guest = &seq;
  request->guest_logits = std::move(logits);
  request->guest_position = next_position;
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) fail(Errc::cancelled, "the model is being freed: no new generation starts");
    queue_.push_back(request);
  }
  work_.notify_one();
  return wait_for(request, options, on_token);
}

GenerateResult BatchedGenerator::wait_for(const std::shared_ptr<Request>& request,
                                          const GenerateOptions& options, const TokenCallback& on_token) {
  std::size_t delivered = 0;
  std::vector<std::pair<std::int32_t, std::string>> tokens;
  for (;;) {
    bool done = false;
    {
      std::unique_lock lock(request->mutex);
      request->changed.wait_for(lock, kPollInterval,
                                [&] { return !request->tokens.empty() || request->done; });
      tokens.swap(request->tokens);
      done = request->done;
    }
    for (const auto& [token, text] : tokens) {
      if (request->cancel) break;
      if (on_token) on_token(token, text);
      ++delivered;
      if (options.stop_requested && options.stop_requested()) request->cancel = true;
    }
    tokens.clear();
    if (!request->cancel && options.stop_requested && options.stop_requested()) request->cancel = true;
    if (request->cancel) {
      // Still waiting for a slot: leave the queue now rather than when a slot frees.
      const std::lock_guard lock(mutex_);
      const auto it = std::find(queue_.begin(), queue_.end(), request);
      if (it != queue_.end()) {
        queue_.erase(it);
        fail_cancelled(0);
      }
    }
    if (done) break;
  }
  if (request->error) std::rethrow_exception(request->error);
  if (request->cancel) fail_cancelled(delivered);
  return std::move(request->result);
}

bool BatchedGenerator::has_work() const {
  if (!guests_.empty()) return true;
  for (const auto& r : queue_)
    if (r->guest) return true;
  bool free_slot = false;
  for (const auto& s : slots_) {
    if (s->request) return true;
    free_slot = true;
  }
  return free_slot && !queue_.empty();
}

void BatchedGenerator::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [this] { return stopping_ || has_work(); });
      if (stopping_) break;
      admit_waiting();
    }
    pass();
  }
  // Stopping: whatever runs or waits ends now.
  std::exception_ptr stopped;
  try {
    fail(Errc::cancelled, "generation was cancelled: the model is being freed");
  } catch (...) {
    stopped = std::current_exception();
  }
  const std::lock_guard device(device_lock_);
  for (auto& s : slots_)
    if (s->request) finish(*s, stopped);
  for (auto& g : guests_)
    if (g->request) finish(*g, stopped);
  const std::lock_guard lock(mutex_);
  guests_.clear();
  for (auto& r : queue_) r->complete({}, stopped);
  queue_.clear();
}

void BatchedGenerator::admit_waiting() {
  // Guests bring their own sequence: they start at once.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (!(*it)->guest) {
      ++it;
      continue;
    }
    auto guest = std::make_unique<Slot>();
    guest->seq = (*it)->guest;
    guest->request = std::move(*it);
    guest->admitted = ++clock_;
    guests_.push_back(std::move(guest));
    it = queue_.erase(it);
  }
  while (!queue_.empty()) {
    const bool any_free =
        std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return !s->request; });
    if (!any_free) return;
    Slot& slot = slot_for(*queue_.front());
    slot.request = std::move(queue_.front());
    queue_.pop_front();
    slot.started = false;
    slot.admitted = ++clock_;
  }
}

BatchedGenerator::Slot& BatchedGenerator::slot_for(const Request& request) {
  Slot* best = nullptr;
  std::size_t best_shared = 0;
  for (auto& s : slots_) {
    if (s->request) continue;
    std::size_t shared = request.reuse_prefix ? reusable_prefix(s->held, request.prompt) : 0;
    // A cache counts as this request's when the prompt continues most of it (an agent's next step, a
    // chat's next turn); one that shares only a chat header is another conversation's, kept for it.
    if (shared * 2 < s->held.size()) shared = 0;
    // The longest such prefix; else the slot used least recently (an empty one first).
    if (!best || shared > best_shared || (shared == best_shared && s->last_used < best->last_used)) {
      best = s.get();
      best_shared = shared;
    }
  }
  return *best;
}

void BatchedGenerator::finish(Slot& slot, std::exception_ptr error) {
  GenerateResult result;
  const bool guest = slot.request->guest != nullptr;
  if (error) {
    // A failed or cancelled request keeps nothing: its cache may hold a partial prompt. A guest's
    // sequence is its caller's to discard.
    if (slot.seq && !guest) slot.seq->truncate(0);
    slot.held.clear();
  } else {
    result = std::move(slot.continuation->result());
    const auto now = Clock::now();
    result.timings.prompt_tokens = std::uint32_t(slot.request->prompt.size());
    result.timings.cached_tokens = slot.cached;
    result.timings.prefill_ms = slot.prefill_ms;
    result.timings.time_to_first_token_ms = ms_between(slot.request->submitted, slot.first_token);
    result.timings.decode_ms = ms_between(slot.first_token, now);
    result.timings.generated_tokens = std::uint32_t(result.tokens.size());
  }
  slot.continuation.reset();
  slot.request->complete(std::move(result), std::move(error));
  const std::lock_guard lock(mutex_);
  slot.request.reset();  // a guest's slot is dropped at the end of the pass (drop_finished_guests)
  slot.last_used = ++clock_;
}

void BatchedGenerator::start_guest(Slot& s) {
  s.started = true;
  s.prefill_start = Clock::now();
  s.next_position = s.request->guest_position;
  s.continuation.emplace(engine_.tokenizer(), s.request->options, s.request->prompt);
  take_step(s, s.request->guest_logits, true);
}

void BatchedGenerator::take_step(Slot& s, std::span<const float> logits, bool first) {
  try {
    const bool room = s.seq->length() + 1 <= s.seq->max_tokens();
    const auto step = s.continuation->finished() ? Continuation::Step{.finished = true}
                                                 : s.continuation->step(logits, room);
    if (first) s.first_token = Clock::now();
    if (step.emitted) s.request->stream(step.token, step.added);
    if (step.finished)
      finish(s, nullptr);
    else
      s.next_token = step.token;
  } catch (...) {
    finish(s, std::current_exception());
  }
}

void BatchedGenerator::release_idle_caches(std::uint32_t pages) {
  std::vector<Slot*> idle;
  {
    const std::lock_guard lock(mutex_);
    // A slot admitted but not started yet computes its shared prefix from `held` when it starts: emptied
    // now, it simply reuses nothing.
    for (auto& s : slots_)
      if ((!s->request || !s->started) && s->own && s->own->length() > 0) idle.push_back(s.get());
  }
  std::sort(idle.begin(), idle.end(),
            [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  for (Slot* s : idle) {
    if (engine_.pool().free_pages() >= pages) return;
    s->own->truncate(0);
    s->held.clear();
  }
}

void BatchedGenerator::pass() {
  const std::lock_guard device(device_lock_);
  run_pass();
  const std::lock_guard lock(mutex_);
  std::erase_if(guests_, [](const auto& g) { return !g->request; });
}

void BatchedGenerator::run_pass() {
  std::vector<Slot*> active;
  {
    const std::lock_guard lock(mutex_);
    for (auto& s : slots_)
      if (s->request) active.push_back(s.get());
    for (auto& g : guests_) active.push_back(g.get());
  }
  // New requests: cut the slot's cache to the prefix it shares with the prompt.
  for (Slot* s : active) {
    if (s->started || s->request->guest) continue;
    s->started = true;
    if (!s->own) {
      s->own = std::make_unique<KvSequence>(engine_.context(), engine_.pool(), engine_.context_tokens());
      s->seq = s->own.get();
    }
    const std::size_t shared = s->request->reuse_prefix ? reusable_prefix(s->held, s->request->prompt) : 0;
    s->seq->truncate(std::uint32_t(shared));
    s->held.resize(shared);
    s->cached = std::uint32_t(shared);
    s->prefill_start = Clock::now();
  }
  for (Slot* s : active)
    if (s->request->cancel) {
      try {
        fail_cancelled(s->continuation ? s->continuation->generated() : 0);
      } catch (...) {
        finish(*s, std::current_exception());
      }
    }
  std::erase_if(active, [](Slot* s) { return !s->request; });
  for (Slot* s : active)
    if (s->request->guest && !s->started) {
      try {
        start_guest(*s);
      } catch (...) {
        finish(*s, std::current_exception());  // its continuation could not be set up
      }
    }
  std::erase_if(active, [](Slot* s) { return !s->request; });

  // The pass: every decoding slot's next token, then a chunk of the earliest-admitted prompt.
  std::vector<ForwardSegment> segments;
  std::vector<Slot*> owners;
  std::vector<std::int32_t> tokens, positions;
  for (Slot* s : active)
    if (s->decoding()) {
      segments.push_back({s->seq, 1});
      owners.push_back(s);
      tokens.push_back(s->next_token);
      positions.push_back(s->next_position);
    }
  const std::uint32_t decodes = std::uint32_t(segments.size());
  Slot* prefilling = nullptr;
  for (Slot* s : active)
    if (!s->decoding() && (!prefilling || s->admitted < prefilling->admitted)) prefilling = s;
  std::uint32_t chunk = 0;
  const std::uint32_t max_batch = engine_.forward().max_batch();
  if (prefilling && decodes < max_batch) {
    chunk = std::min(prefilling->prompt_left(), max_batch - decodes);
    if (decodes > 0) chunk = std::min(chunk, kPrefillChunkBesideDecodes);
    const std::size_t from = prefilling->held.size();
    segments.push_back({prefilling->seq, chunk});
    owners.push_back(prefilling);
    for (std::uint32_t i = 0; i < chunk; ++i) {
      tokens.push_back(prefilling->request->prompt[from + i]);
      positions.push_back(std::int32_t(from + i));
    }
  }
  if (segments.empty()) return;

  std::vector<float> logits;
  try {
    logits = engine_.forward().eval_segments(segments, tokens, positions);
  } catch (...) {
    const auto error = std::current_exception();
    for (Slot* s : owners) finish(*s, error);
    return;
  }
  const std::size_t vocab = engine_.config().vocab;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    Slot& s = *owners[i];
    const auto row = std::span<const float>(logits).subspan(i * vocab, vocab);
    if (i < decodes) {
      if (!s.request->guest) s.held.push_back(s.next_token);
      ++s.next_position;
    } else {
      const std::size_t from = s.held.size();
      s.held.insert(s.held.end(), s.request->prompt.begin() + std::ptrdiff_t(from),
                    s.request->prompt.begin() + std::ptrdiff_t(from + chunk));
      if (s.prompt_left() > 0) continue;
      s.prefill_ms = ms_between(s.prefill_start, Clock::now());
      s.next_position = std::int32_t(s.held.size());
      s.continuation.emplace(engine_.tokenizer(), s.request->options, s.request->prompt);
    }
    take_step(s, row, i >= decodes);
  }
}

}  // namespace lagvk
