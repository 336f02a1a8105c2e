#pragma once
// Continuous batching: generate() calls from many threads share the model. Each call waits for one of N
// slots (a KV sequence that stays alive between calls); a worker thread runs passes that hold the next
// token of every decoding slot plus a chunk of one slot's prompt (Forward::eval_segments), so a request
// joins or leaves between passes and a long prompt does not stall the others. Each slot keeps what it
// evaluated when its request ends: a later request sharing a prefix with it (an agent's next step) is
// placed there and prefills only what is new.
//
// Threads: the worker holds `device_lock` around every pass and every change to the KV pool, so other
// users of the engine (one at a time, under the same lock) interleave between passes. Token callbacks run
// in the calling thread, not the worker.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "engine/api/engine.hpp"

namespace lagvk {

class BatchedGenerator {
 public:
  /// `slots` sequences of the engine's context each: the engine must have been loaded with at least
  /// slots + 1 sequences (LoadOptions::sequences) so that its one-at-a-time users keep a context too.
  BatchedGenerator(Engine& engine, std::uint32_t slots, std::mutex& device_lock);
  /// Stops the worker: requests still running or waiting fail with Errc::cancelled.
  ~BatchedGenerator();
  BatchedGenerator(const BatchedGenerator&) = delete;
  BatchedGenerator& operator=(const BatchedGenerator&) = delete;

  /// Generates after `prompt` as generate() does (same tokens for the same options), sharing passes with
  /// the other calls running now. Thread-safe; blocks until done. With reuse_prefix, the request takes the
  /// free slot whose cache shares the longest prefix with the prompt (timings.cached_tokens); without it,
  /// the least recently used one, emptied. options.stop_requested is polled while waiting.
  [[nodiscard]] GenerateResult generate(std::span<const std::int32_t> prompt, const GenerateOptions& options,
                                        const TokenCallback& on_token, bool reuse_prefix);

  /// generate_from() in the shared passes: decodes after `seq`, which the caller has filled (a LAG context:
  /// logs placed, prompt evaluated; `logits` are those after its last entry, the next token takes
  /// next_position). The caller keeps the sequence and must not touch it (nor hold the device lock) until
  /// this returns; it does not take one of the slots. Thread-safe; blocks until done.
  [[nodiscard]] GenerateResult continue_sequence(KvSequence& seq, std::vector<float> logits,
                                                 std::int32_t next_position, const GenerateOptions& options,
                                                 const TokenCallback& on_token,
                                                 std::span<const std::int32_t> history);
  /// Empties the caches of idle slots, least recently used first, until the KV pool has `pages` free
  /// pages or no idle cache is left (a caller about to fill a sequence of its own). Call with the device
  /// lock held.
  void release_idle_caches(std::uint32_t pages);

  [[nodiscard]] std::uint32_t slots() const { return std::uint32_t(slots_.size()); }
  /// Requests holding a slot now, and requests waiting for one.
  [[nodiscard]] std::uint32_t active() const;
  [[nodiscard]] std::uint32_t waiting() const;

 private:
  struct Request;
  struct Slot;

  void run();
  [[nodiscard]] GenerateResult wait_for(const std::shared_ptr<Request>& request,
                                        const GenerateOptions& options, const TokenCallback& on_token);
  void admit_waiting();
  void start_guest(Slot& slot);
  /// Samples the slot's next token from `logits` and streams it; finishes the request when it ends (or
  /// fails). `first`: the first token of the request (its time to first token).
  void take_step(Slot& slot, std::span<const float> logits, bool first);
  [[nodiscard]] Slot& slot_for(const Request& request);
  /// One pass under the device lock, then the finished guests dropped.
  void pass();
  void run_pass();
  void finish(Slot& slot, std::exception_ptr error);
  [[nodiscard]] bool has_work() const;

  Engine& engine_;
  std::mutex& device_lock_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Slot>> guests_;  ///< continue_sequence calls, on their callers' sequences
  mutable std::mutex mutex_;  ///< guards queue_, guests_, slots' request pointers and stopping_
  std::condition_variable work_;
  std::deque<std::shared_ptr<Request>> queue_;
  bool stopping_ = false;
  std::uint64_t clock_ = 0;  ///< orders slots by last use and prefill turns by arrival
  std::thread worker_;       ///< last: started once everything above exists
};

}  // namespace lagvk
