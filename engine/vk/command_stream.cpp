#include "engine/vk/command_stream.hpp"

#include <utility>

#include "engine/vk/check.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::vk {

CommandStream::CommandStream(Context& context, StreamOptions options) : ctx_(context), options_(options) {
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pool_info.queueFamilyIndex = ctx_.queue_family();
  check(vkCreateCommandPool(ctx_.device(), &pool_info, nullptr, &pool_), "vkCreateCommandPool");
  if (options_.profile && ctx_.info().timestamps) {
    query_capacity_ = 8192;
    VkQueryPoolCreateInfo q{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    q.queryType = VK_QUERY_TYPE_TIMESTAMP;
    q.queryCount = query_capacity_;
    VkResult r = vkCreateQueryPool(ctx_.device(), &q, nullptr, &queries_);
    if (r != VK_SUCCESS) {
      vkDestroyCommandPool(ctx_.device(), pool_, nullptr);
      check(r, "vkCreateQueryPool");
    }
  }
}

CommandStream::~CommandStream() {
  // Never leave the GPU reading freed command buffers: wait for whatever was submitted.
  if (!submitted_.empty()) vkQueueWaitIdle(ctx_.queue());
  if (queries_) vkDestroyQueryPool(ctx_.device(), queries_, nullptr);
  vkDestroyCommandPool(ctx_.device(), pool_, nullptr);
}

void CommandStream::ensure_recording() {
  if (current_ != VK_NULL_HANDLE) return;
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(ctx_.device(), &alloc, &current_), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(current_, &begin), "vkBeginCommandBuffer");
  if (queries_ && submitted_.empty() && labels_.empty())
    vkCmdResetQueryPool(current_, queries_, 0, query_capacity_);
  // Work from earlier submissions (uploads, previous streams) must be visible to this buffer's commands.
  pending_writes_ = true;
  in_current_ = 0;
}

void CommandStream::before_command() {
  ensure_recording();
  if (parallel_depth_ > 0 && parallel_barrier_done_) return;
  if (pending_writes_) {
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    barrier.srcAccessMask =
        VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                            VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(
        current_,
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &barrier, 0, nullptr, 0,
        nullptr);
  }
  if (parallel_depth_ > 0) parallel_barrier_done_ = true;
}

void CommandStream::dispatch(const Pipeline& pipeline, const void* push, std::uint32_t push_bytes,
                             std::uint32_t groups_x, std::uint32_t groups_y, std::uint32_t groups_z,
                             const char* label) {
  const std::span<const BufferView> bound = std::exchange(bound_, {});
  if (bound.size() != pipeline.key().bound_buffers)
    fail("internal: {} binds {} buffers, got {}", pipeline.key().shader, pipeline.key().bound_buffers,
         bound.size());
  if (push_bytes != pipeline.key().push_constant_bytes)
    fail("internal: {} expects {} bytes of push constants, got {}", pipeline.key().shader,
         pipeline.key().push_constant_bytes, push_bytes);
  const auto& lim = ctx_.info().max_workgroup_count;
  if (groups_x > lim[0] || groups_y > lim[1] || groups_z > lim[2])
    fail("internal: {} dispatch {}x{}x{} exceeds the device's workgroup count limits", pipeline.key().shader,
         groups_x, groups_y, groups_z);
  if (groups_x == 0 || groups_y == 0 || groups_z == 0) return;
  if (current_ != VK_NULL_HANDLE && in_current_ >= options_.dispatches_per_submit && parallel_depth_ == 0)
    flush(/*wait=*/false);
  before_command();
  const bool timed = queries_ && label && labels_.size() * 2 + 2 <= query_capacity_;
  if (timed)
    vkCmdWriteTimestamp(current_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_,
                        std::uint32_t(labels_.size() * 2));
  vkCmdBindPipeline(current_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle());
  if (!bound.empty()) ctx_.push_storage_buffers(current_, pipeline.layout(), bound);
  if (push_bytes)
    vkCmdPushConstants(current_, pipeline.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(current_, groups_x, groups_y, groups_z);
  if (timed) {
    vkCmdWriteTimestamp(current_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_,
                        std::uint32_t(labels_.size() * 2 + 1));
    labels_.emplace_back(label);
  }
  pending_writes_ = true;
  ++in_current_;
  ++dispatches_total_;
}

void CommandStream::copy(const BufferView& src, const BufferView& dst) {
  if (src.bytes > dst.bytes) fail("internal: copy of {} bytes into {}", src.bytes, dst.bytes);
  if (src.bytes == 0) return;
  before_command();
  VkBufferCopy region{src.offset, dst.offset, src.bytes};
  vkCmdCopyBuffer(current_, src.buffer->handle(), dst.buffer->handle(), 1, &region);
  pending_writes_ = true;
}

void CommandStream::fill(const BufferView& dst, std::uint32_t value) {
  if (dst.bytes == 0) return;
  before_command();
  vkCmdFillBuffer(current_, dst.buffer->handle(), dst.offset, dst.bytes / 4 * 4, value);
  pending_writes_ = true;
}

void CommandStream::begin_parallel() {
  if (parallel_depth_++ == 0) parallel_barrier_done_ = false;
}

void CommandStream::end_parallel() {
  if (parallel_depth_ == 0) fail("internal: end_parallel without begin_parallel");
  --parallel_depth_;
}

void CommandStream::flush(bool wait) {
  if (current_ == VK_NULL_HANDLE && !wait) return;
  if (current_ == VK_NULL_HANDLE) ensure_recording();
  if (wait) {
    // Make results visible to host reads of mapped memory.
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(current_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  }
  check(vkEndCommandBuffer(current_), "vkEndCommandBuffer");
  VkFence fence = VK_NULL_HANDLE;
  if (wait) {
    VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(ctx_.device(), &fence_info, nullptr, &fence), "vkCreateFence");
  }
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submitted_.push_back(current_);
  submit.pCommandBuffers = &submitted_.back();
  current_ = VK_NULL_HANDLE;
  ++submits_;
  VkResult r = vkQueueSubmit(ctx_.queue(), 1, &submit, fence);
  if (r == VK_SUCCESS && wait) r = vkWaitForFences(ctx_.device(), 1, &fence, VK_TRUE, UINT64_MAX);
  if (fence) vkDestroyFence(ctx_.device(), fence, nullptr);
  check(r, "vkQueueSubmit");
}

void CommandStream::release_submitted() {
  if (!submitted_.empty())
    vkFreeCommandBuffers(ctx_.device(), pool_, std::uint32_t(submitted_.size()), submitted_.data());
  submitted_.clear();
}

void CommandStream::finish() {
  if (parallel_depth_ != 0) fail("internal: finish() inside a parallel group");
  if (current_ == VK_NULL_HANDLE && submitted_.empty()) return;
  flush(/*wait=*/true);
  timings_.clear();
  if (queries_ && !labels_.empty()) {
    std::vector<std::uint64_t> stamps(labels_.size() * 2);
    check(vkGetQueryPoolResults(ctx_.device(), queries_, 0, std::uint32_t(stamps.size()),
                                stamps.size() * sizeof(std::uint64_t), stamps.data(), sizeof(std::uint64_t),
                                VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    const double period = ctx_.info().timestamp_period_ns;
    for (std::size_t i = 0; i < labels_.size(); ++i)
      timings_.push_back({labels_[i], double(stamps[2 * i + 1] - stamps[2 * i]) * period * 1e-6});
  }
  labels_.clear();
  release_submitted();
  pending_writes_ = false;
}

}  // namespace lagvk::vk
