#include "server/request_queue.hpp"

namespace lagvk::server {

std::optional<RequestQueue::Turn> RequestQueue::wait_for_turn() {
  std::unique_lock lock(mutex_);
  if (closed_) return std::nullopt;
  const bool must_wait = running_ >= slots_ || next_ticket_ != now_serving_;
  if (must_wait && waiting_ >= max_waiting_) return std::nullopt;
  const std::uint64_t ticket = next_ticket_++;
  ++waiting_;
  turn_changed_.wait(lock, [&] { return closed_ || (running_ < slots_ && ticket == now_serving_); });
  --waiting_;
  if (closed_) return std::nullopt;
  ++running_;
  ++now_serving_;  // the next ticket may start too if a slot is free
  lock.unlock();
  turn_changed_.notify_all();
  return Turn(*this);
}

void RequestQueue::release() {
  {
    const std::lock_guard lock(mutex_);
    --running_;
  }
  turn_changed_.notify_all();
}

void RequestQueue::close() {
  {
    const std::lock_guard lock(mutex_);
    closed_ = true;
  }
  turn_changed_.notify_all();
}

bool RequestQueue::closed() const {
  const std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t RequestQueue::running() const {
  const std::lock_guard lock(mutex_);
  return running_;
}

std::size_t RequestQueue::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiting_;
}

}  // namespace lagvk::server
