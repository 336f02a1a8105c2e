#pragma once
// At most `slots` generations at a time (the model's parallel slots), in arrival order: a request
// waits for its turn in a bounded queue, and one that finds the queue full is turned away at once (the
// server answers 503 with Retry-After) rather than piling up threads and memory. Closing the queue wakes
// every waiter with no turn (shutdown).
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace lagvk::server {

class RequestQueue {
 public:
  /// The right to generate; released (the next in line goes) when destroyed.
  class Turn {
   public:
    explicit Turn(RequestQueue& queue) : queue_(&queue) {}
    ~Turn() {
      if (queue_) queue_->release();
    }
    Turn(Turn&& other) noexcept : queue_(std::exchange(other.queue_, nullptr)) {}
    Turn& operator=(Turn&&) = delete;
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    RequestQueue* queue_;
  };

  /// max_waiting: requests that may wait while `slots` generate (0: none wait, a busy server refuses).
  explicit RequestQueue(std::size_t max_waiting, std::size_t slots = 1)
      : max_waiting_(max_waiting), slots_(slots == 0 ? 1 : slots) {}

  /// Waits for this request's turn. nullopt when the queue is full or closed (see closed()).
  [[nodiscard]] std::optional<Turn> wait_for_turn();
  /// Wakes every waiter without a turn and refuses every later request.
  void close();
  [[nodiscard]] bool closed() const;
  /// Requests waiting now (not counting those generating).
  [[nodiscard]] std::size_t waiting() const;
  /// Requests holding a turn now.
  [[nodiscard]] std::size_t running() const;

 private:
  void release();

  const std::size_t max_waiting_;
  const std::size_t slots_;
  mutable std::mutex mutex_;
  std::condition_variable turn_changed_;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::size_t waiting_ = 0;
  std::uint64_t next_ticket_ = 0;  ///< tickets are served in order: first come, first served
  std::uint64_t now_serving_ = 0;
};

}  // namespace lagvk::server
