#include "engine/vk/command_stream.hpp"

#include <utility>

#include "engine/vk/check.hpp"
#include "engine/vk/context.hpp"

namespace lagvk::vk {

namespace {

constexpr std::uint32_t kQueryCapacity = 8192;

[[nodiscard]] bool overlap(const Access& a, const Access& b) {
  return a.begin < b.end && b.begin < a.end;
}

}  // namespace

CommandStream::CommandStream(Context& context, StreamOptions options) : ctx_(context), options_(options) {
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pool_info.queueFamilyIndex = ctx_.queue_family();
  check(vkCreateCommandPool(ctx_.device(), &pool_info, nullptr, &pool_), "vkCreateCommandPool");
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkResult r = vkCreateFence(ctx_.device(), &fence_info, nullptr, &fence_);
  if (r != VK_SUCCESS) {
    vkDestroyCommandPool(ctx_.device(), pool_, nullptr);
    check(r, "vkCreateFence");
  }
  try {
    set_profiling(options_.profile);
  } catch (...) {
    vkDestroyFence(ctx_.device(), fence_, nullptr);
    vkDestroyCommandPool(ctx_.device(), pool_, nullptr);
    throw;
  }
}

CommandStream::~CommandStream() {
  // Never leave the GPU reading freed command buffers: wait for whatever was submitted.
  if (in_flight_) vkQueueWaitIdle(ctx_.queue());
  if (queries_) vkDestroyQueryPool(ctx_.device(), queries_, nullptr);
  vkDestroyFence(ctx_.device(), fence_, nullptr);
  vkDestroyCommandPool(ctx_.device(), pool_, nullptr);  // frees buffers_ too
}

void CommandStream::set_profiling(bool on) {
  options_.profile = on;
  if (!on || queries_ || !ctx_.info().timestamps) return;
  VkQueryPoolCreateInfo q{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  q.queryType = VK_QUERY_TYPE_TIMESTAMP;
  q.queryCount = kQueryCapacity;
  check(vkCreateQueryPool(ctx_.device(), &q, nullptr, &queries_), "vkCreateQueryPool");
  query_capacity_ = kQueryCapacity;
}

void CommandStream::ensure_recording() {
  if (current_ != VK_NULL_HANDLE) return;
  if (used_buffers_ == buffers_.size()) {
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    VkCommandBuffer buffer = VK_NULL_HANDLE;
    check(vkAllocateCommandBuffers(ctx_.device(), &alloc, &buffer), "vkAllocateCommandBuffers");
    buffers_.push_back(buffer);
  }
  VkCommandBuffer buffer = buffers_[used_buffers_];
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(buffer, &begin), "vkBeginCommandBuffer");
  current_ = buffer;
  ++used_buffers_;
  if (queries_ && options_.profile && used_buffers_ == 1)
    vkCmdResetQueryPool(current_, queries_, 0, query_capacity_);
  // Work from earlier submissions (uploads, previous passes) must be visible to this buffer's commands.
  before_.unknown = true;
  in_current_ = 0;
}

bool CommandStream::conflicts(std::span<const Access> accesses) const {
  if (before_.empty()) return false;
  if (before_.unknown || accesses.empty()) return true;
  for (const Access& a : accesses)
    for (const Access& p : before_.accesses)
      if ((a.write || p.write) && overlap(a, p)) return true;  // read after write, write after either
  return false;
}

void CommandStream::barrier() {
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
  ++counts_.barriers;
  // Everything recorded so far, the open group's earlier members included, is now ordered before.
  before_.clear();
  group_.clear();
}

void CommandStream::order(std::span<const Access> accesses) {
  ensure_recording();
  if (conflicts(accesses)) barrier();
  Pending& into = parallel_depth_ > 0 ? group_ : before_;
  if (accesses.empty())
    into.unknown = true;
  else
    into.accesses.insert(into.accesses.end(), accesses.begin(), accesses.end());
}

void CommandStream::dispatch(const Pipeline& pipeline, const void* push, std::uint32_t push_bytes,
                             std::uint32_t groups_x, std::uint32_t groups_y, std::uint32_t groups_z,
                             const char* label, std::span<const Access> accesses) {
  const std::span<const Binding> bound = std::exchange(bound_, {});
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
  order(accesses);
  const bool timed = queries_ && options_.profile && label && labels_.size() * 2 + 2 <= query_capacity_;
  if (timed)
    vkCmdWriteTimestamp(current_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_,
                        std::uint32_t(labels_.size() * 2));
  vkCmdBindPipeline(current_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle());
  if (!bound.empty()) ctx_.push_bindings(current_, pipeline, bound);
  if (push_bytes)
    vkCmdPushConstants(current_, pipeline.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(current_, groups_x, groups_y, groups_z);
  if (timed) {
    vkCmdWriteTimestamp(current_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_,
                        std::uint32_t(labels_.size() * 2 + 1));
    labels_.emplace_back(label);
  }
  ++in_current_;
  ++counts_.dispatches;
}

void CommandStream::copy(const BufferView& src, const BufferView& dst) {
  if (src.bytes > dst.bytes) fail("internal: copy of {} bytes into {}", src.bytes, dst.bytes);
  if (src.bytes == 0) return;
  const Access accesses[] = {reads(src), writes(BufferView(*dst.buffer, dst.offset, src.bytes))};
  order(accesses);
  VkBufferCopy region{src.offset, dst.offset, src.bytes};
  vkCmdCopyBuffer(current_, src.buffer->handle(), dst.buffer->handle(), 1, &region);
}

void CommandStream::fill(const BufferView& dst, std::uint32_t value) {
  if (dst.bytes == 0) return;
  const Access accesses[] = {writes(dst)};
  order(accesses);
  vkCmdFillBuffer(current_, dst.buffer->handle(), dst.offset, dst.bytes / 4 * 4, value);
}

void CommandStream::begin_parallel() {
  ++parallel_depth_;
}

void CommandStream::end_parallel() {
  if (parallel_depth_ == 0) fail("internal: end_parallel without begin_parallel");
  if (--parallel_depth_ > 0) return;
  // The group's commands become ordinary pending commands for what follows.
  before_.unknown = before_.unknown || group_.unknown;
  before_.accesses.insert(before_.accesses.end(), group_.accesses.begin(), group_.accesses.end());
  group_.clear();
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
  VkCommandBuffer buffer = current_;
  current_ = VK_NULL_HANDLE;
  check(vkEndCommandBuffer(buffer), "vkEndCommandBuffer");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &buffer;
  ++counts_.submits;
  // The fence signals after this submission and, by queue order, after every earlier one.
  check(vkQueueSubmit(ctx_.queue(), 1, &submit, wait ? fence_ : VK_NULL_HANDLE), "vkQueueSubmit");
  in_flight_ = true;
  if (!wait) return;
  const VkResult r = vkWaitForFences(ctx_.device(), 1, &fence_, VK_TRUE, UINT64_MAX);
  if (r == VK_SUCCESS) {
    in_flight_ = false;
    check(vkResetFences(ctx_.device(), 1, &fence_), "vkResetFences");
  }
  check(r, "vkWaitForFences");
}

void CommandStream::finish() {
  if (parallel_depth_ != 0) fail("internal: finish() inside a parallel group");
  if (current_ == VK_NULL_HANDLE && used_buffers_ == 0) return;
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
  discard();
}

void CommandStream::discard() {
  if (in_flight_) {
    check(vkQueueWaitIdle(ctx_.queue()), "vkQueueWaitIdle");
    in_flight_ = false;
  }
  if (current_ != VK_NULL_HANDLE) {
    vkEndCommandBuffer(current_);  // a half-recorded buffer: the pool reset below drops it
    current_ = VK_NULL_HANDLE;
  }
  if (used_buffers_ > 0) check(vkResetCommandPool(ctx_.device(), pool_, 0), "vkResetCommandPool");
  used_buffers_ = 0;
  in_current_ = 0;
  parallel_depth_ = 0;
  before_.clear();
  group_.clear();
  labels_.clear();
}

}  // namespace lagvk::vk
