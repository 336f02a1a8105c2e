#pragma once
// Records many dispatches into command buffers and submits them together. A command waits for earlier
// ones (a compute/transfer memory barrier) only where data flows: when it reads or writes a buffer range
// an earlier command wrote, or writes a range an earlier command read, since the last barrier. Kernels
// address buffers through device addresses, so a dispatch declares the ranges it touches (reads(),
// writes()); one that declares nothing is ordered after everything before it and before everything
// after it. copy() and fill() declare their ranges themselves. Commands inside one parallel group are
// not ordered among themselves (the caller promises they touch disjoint memory).
//
// Past a dispatch threshold the current command buffer is submitted and a new one begun, so no single
// submission runs long enough to trip a driver's watchdog; the GPU starts on the early part meanwhile.
// A stream is meant to live long: finish() waits on one fence the stream keeps and recycles its command
// buffers, so a decode step creates no Vulkan objects. One thread at a time may use a stream.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "engine/vk/buffer.hpp"
#include "engine/vk/pipeline.hpp"

namespace lagvk::vk {

class Context;

struct StreamOptions {
  std::uint32_t dispatches_per_submit = 512;
  bool profile = false;  ///< record GPU timestamps around each labelled dispatch
};

struct TimedDispatch {
  std::string label;
  double milliseconds = 0.0;
};

/// A byte range of device memory a command reads or writes.
struct Access {
  VkDeviceAddress begin = 0, end = 0;
  bool write = false;
};
[[nodiscard]] inline Access reads(const BufferView& v) {
  return {v.address(), v.address() + v.bytes, false};
}
[[nodiscard]] inline Access writes(const BufferView& v) {
  return {v.address(), v.address() + v.bytes, true};
}

/// What a stream has recorded since it was made (differences give one pass's share).
struct StreamCounts {
  std::uint64_t dispatches = 0;
  std::uint64_t barriers = 0;  ///< memory barriers between commands (not counting the host-read one)
  std::uint64_t submits = 0;
};

class CommandStream {
 public:
  explicit CommandStream(Context& context, StreamOptions options = {});
  ~CommandStream();
  CommandStream(const CommandStream&) = delete;
  CommandStream& operator=(const CommandStream&) = delete;

  /// Records a dispatch of groups_x x groups_y x groups_z workgroups with the given push constants.
  /// `accesses` lists every buffer range the kernel reads or writes; empty means unknown (fully ordered).
  void dispatch(const Pipeline& pipeline, const void* push, std::uint32_t push_bytes, std::uint32_t groups_x,
                std::uint32_t groups_y, std::uint32_t groups_z, const char* label,
                std::span<const Access> accesses);

  /// The same, binding `bound` as the pipeline's descriptors 0, 1, ... (PipelineKey::bound_buffers:
  /// storage buffers accepted by Context::can_bind, or texel views from Context::texel_binding) through
  /// a push descriptor.
  template <typename Push>
  void dispatch_bound(const Pipeline& pipeline, const Push& push, std::span<const Binding> bound,
                      std::uint32_t gx, std::uint32_t gy = 1, std::uint32_t gz = 1,
                      const char* label = nullptr, std::initializer_list<Access> accesses = {}) {
    bound_ = bound;  // dispatch() takes it over
    dispatch(pipeline, &push, sizeof(Push), gx, gy, gz, label,
             std::span<const Access>(accesses.begin(), accesses.size()));
  }

  template <typename Push>
  void dispatch(const Pipeline& pipeline, const Push& push, std::uint32_t gx, std::uint32_t gy = 1,
                std::uint32_t gz = 1, const char* label = nullptr,
                std::initializer_list<Access> accesses = {}) {
    dispatch(pipeline, &push, sizeof(Push), gx, gy, gz, label,
             std::span<const Access>(accesses.begin(), accesses.size()));
  }

  void copy(const BufferView& src, const BufferView& dst);
  void fill(const BufferView& dst, std::uint32_t value);

  /// Commands recorded between begin_parallel() and end_parallel() do not wait for each other (they
  /// must not touch the same memory); each still waits for earlier commands whose data it touches.
  void begin_parallel();
  void end_parallel();

  /// Submits everything recorded and waits for completion. The stream may be reused afterwards.
  void finish();
  /// Drops whatever was recorded but not finished (after an exception part-way through a pass): waits
  /// for submitted parts and makes the stream ready for a new pass. Cheap when nothing is pending.
  void discard();

  /// Turns timestamps around labelled dispatches on or off from the next pass on.
  void set_profiling(bool on);

  [[nodiscard]] const StreamCounts& counts() const { return counts_; }
  [[nodiscard]] std::uint32_t dispatch_count() const { return std::uint32_t(counts_.dispatches); }
  [[nodiscard]] std::uint32_t submit_count() const { return std::uint32_t(counts_.submits); }
  /// GPU time of each labelled dispatch of the last finish() (needs profiling).
  [[nodiscard]] const std::vector<TimedDispatch>& timings() const { return timings_; }

 private:
  /// Accesses since the last barrier that later commands may have to wait for.
  struct Pending {
    std::vector<Access> accesses;
    bool unknown = false;  ///< a command with undeclared accesses (or work from earlier submissions)
    [[nodiscard]] bool empty() const { return accesses.empty() && !unknown; }
    void clear() {
      accesses.clear();
      unknown = false;
    }
  };

  void ensure_recording();
  /// Places a barrier before the next command when it touches data pending commands wrote or read.
  void order(std::span<const Access> accesses);
  [[nodiscard]] bool conflicts(std::span<const Access> accesses) const;
  void barrier();
  void flush(bool wait);

  Context& ctx_;
  StreamOptions options_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  std::uint32_t query_capacity_ = 0;
  std::vector<VkCommandBuffer> buffers_;  ///< allocated once, reused every pass
  std::size_t used_buffers_ = 0;          ///< of buffers_, recorded in this pass
  bool in_flight_ = false;                ///< parts of this pass were submitted without waiting
  VkCommandBuffer current_ = VK_NULL_HANDLE;
  std::uint32_t in_current_ = 0;
  StreamCounts counts_;
  Pending before_;  ///< commands outside the open parallel group (all, when none is open)
  Pending group_;   ///< commands of the open parallel group
  int parallel_depth_ = 0;
  std::vector<std::string> labels_;
  std::vector<TimedDispatch> timings_;
  std::span<const Binding> bound_;  ///< buffers to bind for the dispatch being recorded
};

}  // namespace lagvk::vk
