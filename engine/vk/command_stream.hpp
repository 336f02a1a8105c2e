#pragma once
// Records many dispatches into command buffers and submits them together. Each command waits for the
// one before it (a full compute/transfer memory barrier) unless both are inside one parallel() group.
// Past a dispatch threshold the current command buffer is submitted and a new one begun, so no single
// submission runs long enough to trip a driver's watchdog; the GPU starts on the early part meanwhile.
#include <vulkan/vulkan.h>

#include <cstdint>
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

class CommandStream {
 public:
  explicit CommandStream(Context& context, StreamOptions options = {});
  ~CommandStream();
  CommandStream(const CommandStream&) = delete;
  CommandStream& operator=(const CommandStream&) = delete;

  /// Records a dispatch of groups_x x groups_y x groups_z workgroups with the given push constants.
  void dispatch(const Pipeline& pipeline, const void* push, std::uint32_t push_bytes, std::uint32_t groups_x,
                std::uint32_t groups_y = 1, std::uint32_t groups_z = 1, const char* label = nullptr);

  /// The same, binding `bound` as the pipeline's storage buffers 0, 1, ... (PipelineKey::bound_buffers,
  /// each accepted by Context::can_bind) through a push descriptor.
  template <typename Push>
  void dispatch_bound(const Pipeline& pipeline, const Push& push, std::span<const BufferView> bound,
                      std::uint32_t gx, std::uint32_t gy = 1, std::uint32_t gz = 1,
                      const char* label = nullptr) {
    bound_ = bound;  // dispatch() takes it over
    dispatch(pipeline, &push, sizeof(Push), gx, gy, gz, label);
  }

  template <typename Push>
  void dispatch(const Pipeline& pipeline, const Push& push, std::uint32_t gx, std::uint32_t gy = 1,
                std::uint32_t gz = 1, const char* label = nullptr) {
    dispatch(pipeline, &push, sizeof(Push), gx, gy, gz, label);
  }

  void copy(const BufferView& src, const BufferView& dst);
  void fill(const BufferView& dst, std::uint32_t value);

  /// Commands recorded between begin_parallel() and end_parallel() do not wait for each other (they
  /// must not touch the same memory); the group as a whole waits for what came before.
  void begin_parallel();
  void end_parallel();

  /// Submits everything recorded and waits for completion. The stream may be reused afterwards.
  void finish();

  [[nodiscard]] std::uint32_t dispatch_count() const { return dispatches_total_; }
  [[nodiscard]] std::uint32_t submit_count() const { return submits_; }
  /// GPU time of each labelled dispatch of the last finish() (needs StreamOptions::profile).
  [[nodiscard]] const std::vector<TimedDispatch>& timings() const { return timings_; }

 private:
  void ensure_recording();
  void before_command();
  void flush(bool wait);
  void release_submitted();

  Context& ctx_;
  StreamOptions options_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  std::uint32_t query_capacity_ = 0;
  std::vector<VkCommandBuffer> submitted_;
  VkCommandBuffer current_ = VK_NULL_HANDLE;
  std::uint32_t in_current_ = 0;
  std::uint32_t dispatches_total_ = 0;
  std::uint32_t submits_ = 0;
  bool pending_writes_ = false;
  int parallel_depth_ = 0;
  bool parallel_barrier_done_ = false;
  std::vector<std::string> labels_;
  std::vector<TimedDispatch> timings_;
  std::span<const BufferView> bound_;  ///< buffers to bind for the dispatch being recorded
};

}  // namespace lagvk::vk
