#include "engine/vk/context.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "engine/vk/check.hpp"

namespace lagvk::vk {

std::vector<DeviceInfo> enumerate_devices(const Instance& instance) {
  std::vector<DeviceInfo> out;
  const auto physical = instance.physical_devices();
  for (std::uint32_t i = 0; i < physical.size(); ++i) out.push_back(probe_device(physical[i], i));
  return out;
}

Context::Context(const ContextOptions& options) : instance_(options.instance) {
  devices_ = enumerate_devices(instance_);
  chosen_ = choose_device(devices_, options.device_index);
  const DeviceInfo& d = devices_[chosen_];

  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(d.handle, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(d.handle, &family_count, families.data());
  // Prefer a compute queue without graphics (async compute engines), else any compute queue.
  int pick = -1;
  for (std::uint32_t i = 0; i < family_count; ++i) {
    if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (pick < 0 || !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) pick = int(i);
    if (!(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) break;
  }
  queue_family_ = std::uint32_t(pick);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = queue_family_;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceSubgroupSizeControlFeatures sgc{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  features.pNext = &f11;
  f11.pNext = &f12;
  features.features.shaderInt64 = d.int64;
  f11.storageBuffer16BitAccess = VK_TRUE;
  f12.bufferDeviceAddress = VK_TRUE;
  f12.shaderFloat16 = d.float16_arithmetic;
  f12.shaderInt8 = d.int8_arithmetic;
  f12.storageBuffer8BitAccess = d.storage_8bit;
  f12.hostQueryReset = VK_FALSE;
  std::vector<const char*> extensions;
  if (d.subgroup_size_control) {
    f12.pNext = &sgc;
    sgc.subgroupSizeControl = VK_TRUE;
    sgc.computeFullSubgroups = VK_TRUE;
    extensions.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);  // our instance targets Vulkan 1.2
  }
  if (d.external_memory_host) extensions.push_back(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
  if (d.push_descriptor) extensions.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);

  VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  info.pNext = &features;
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queue_info;
  info.enabledExtensionCount = std::uint32_t(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  const auto step_done = [&options](std::string_view step) {
    if (options.after_step) options.after_step(step);
  };
  VkDevice device = VK_NULL_HANDLE;
  check(vkCreateDevice(d.handle, &info, nullptr, &device), "vkCreateDevice");
  device_ = DeviceHandle(device);
  vkGetDeviceQueue(device, queue_family_, 0, &queue_);
  if (d.push_descriptor)
    cmd_push_descriptor_set_ = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(
        vkGetDeviceProcAddr(device, "vkCmdPushDescriptorSetKHR"));
  if (cmd_push_descriptor_set_ && d.max_push_descriptors >= kMaxBoundBuffers) {
    device_binding_limit_ = d.max_storage_buffer_range;
    texel_reads_ = d.type == "cpu" && texel_formats_supported(d.handle);
  }
  step_done("device");

  VkPipelineCacheCreateInfo cache_info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  VkPipelineCache cache = VK_NULL_HANDLE;
  check(vkCreatePipelineCache(device, &cache_info, nullptr, &cache), "vkCreatePipelineCache");
  pipeline_cache_ = {device, cache};
  step_done("pipeline cache");

  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pool_info.queueFamilyIndex = queue_family_;
  VkCommandPool pool = VK_NULL_HANDLE;
  check(vkCreateCommandPool(device, &pool_info, nullptr, &pool), "vkCreateCommandPool");
  transfer_pool_ = {device, pool};
  step_done("command pool");

  const VkDeviceSize block = std::min(options.block_size, d.max_memory_allocation_size);
  allocator_ = std::make_unique<MemoryAllocator>(d.handle, device, block, d.max_memory_allocation_size);
  step_done("allocator");
}

Context::~Context() {
  // The GPU must be done with everything before the members below destroy it (pipelines, memory, pools,
  // the device: the reverse of their declaration).
  if (device_.get() != VK_NULL_HANDLE) vkDeviceWaitIdle(device_.get());
}

Buffer Context::create_buffer(VkDeviceSize size, MemoryKind kind) {
  return Buffer(device_.get(), *allocator_, size, kind);
}

bool Context::texel_formats_supported(VkPhysicalDevice device) {
  for (const TexelFormat f : kTexelFormats) {
    VkFormatProperties props{};
    vkGetPhysicalDeviceFormatProperties(device, vk_format(f), &props);
    if (!(props.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT)) return false;
  }
  return true;
}

bool Context::can_bind(const BufferView& view) const {
  const VkDeviceSize align = std::max<VkDeviceSize>(info().min_storage_buffer_offset_alignment, 1);
  const VkDeviceSize limit =
      test_binding_limit_ ? std::min(test_binding_limit_, device_binding_limit_) : device_binding_limit_;
  return view.buffer && view.bytes > 0 && view.bytes <= limit && view.offset % align == 0;
}

std::optional<Binding> Context::texel_binding(const BufferView& view, TexelFormat format) const {
  if (!texel_reads_ || !cmd_push_descriptor_set_ || !view.buffer || view.bytes == 0) return std::nullopt;
  if (test_binding_limit_ && view.bytes > test_binding_limit_) return std::nullopt;
  const VkDeviceSize texel = texel_bytes(format);
  const VkDeviceSize align = std::max<VkDeviceSize>(info().min_texel_buffer_offset_alignment, 1);
  if (view.offset % align != 0 || view.offset % texel != 0 || view.offset >= view.buffer->size())
    return std::nullopt;
  // One view from the offset to the buffer's end serves every length read there (a buffer keeps few).
  const VkDeviceSize texels =
      std::min<VkDeviceSize>((view.buffer->size() - view.offset) / texel, info().max_texel_buffer_elements);
  if (texels * texel < view.bytes) return std::nullopt;
  const VkBufferView handle = view.buffer->texel_view(view.offset, texels, format);
  if (handle == VK_NULL_HANDLE) return std::nullopt;
  return Binding(view, handle);
}

bool Context::set_texel_reads(bool on) {
  return std::exchange(texel_reads_, on && cmd_push_descriptor_set_ && device_binding_limit_ > 0 &&
                                         texel_formats_supported(info().handle));
}

VkDeviceSize Context::limit_bindings(VkDeviceSize bytes) {
  return std::exchange(test_binding_limit_, bytes);
}

void Context::push_bindings(VkCommandBuffer cmd, const Pipeline& pipeline,
                            std::span<const Binding> bindings) const {
  const PipelineKey& key = pipeline.key();
  if (bindings.size() != key.bound_buffers || bindings.size() > kMaxBoundBuffers)
    fail("internal: {} binds {} descriptors, got {}", key.shader, key.bound_buffers, bindings.size());
  VkDescriptorBufferInfo infos[kMaxBoundBuffers];
  VkWriteDescriptorSet writes[kMaxBoundBuffers];
  for (std::uint32_t i = 0; i < bindings.size(); ++i) {
    const Binding& b = bindings[i];
    const bool texel = (key.texel_bindings >> i) & 1u;
    if (texel != (b.texels != VK_NULL_HANDLE))
      fail("internal: {} binding {} must be a {}", key.shader, i, texel ? "texel view" : "storage buffer");
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    if (texel) {
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      writes[i].pTexelBufferView = &b.texels;
    } else {
      if (!can_bind(b.view)) fail("internal: binding {} cannot be bound through a descriptor", i);
      infos[i] = {b.view.buffer->handle(), b.view.offset, b.view.bytes};
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &infos[i];
    }
  }
  cmd_push_descriptor_set_(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout(), 0,
                           std::uint32_t(bindings.size()), writes);
}

const Pipeline& Context::pipeline(const PipelineKey& key) {
  const std::lock_guard lock(pipelines_lock_);
  auto it = pipelines_.find(key);
  if (it == pipelines_.end())
    it = pipelines_.emplace(key, std::make_unique<Pipeline>(device_.get(), pipeline_cache_.get(), key)).first;
  return *it->second;
}

void Context::copy_now(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst, VkDeviceSize dst_offset,
                       VkDeviceSize bytes) {
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = transfer_pool_.get();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  check(vkAllocateCommandBuffers(device(), &alloc, &cmd), "vkAllocateCommandBuffers");
  VkFence fence = VK_NULL_HANDLE;
  try {
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
    // Order the copy after all earlier GPU work and make it visible to later work.
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    barrier.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                         &barrier, 0, nullptr, 0, nullptr);
    VkBufferCopy region{src_offset, dst_offset, bytes};
    vkCmdCopyBuffer(cmd, src, dst, 1, &region);
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0,
                         nullptr, 0, nullptr);
    check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(device(), &fence_info, nullptr, &fence), "vkCreateFence");
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    check(vkQueueSubmit(queue_, 1, &submit, fence), "vkQueueSubmit");
    check(vkWaitForFences(device(), 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  } catch (...) {
    if (fence) vkDestroyFence(device(), fence, nullptr);
    vkFreeCommandBuffers(device(), transfer_pool_.get(), 1, &cmd);
    throw;
  }
  vkDestroyFence(device(), fence, nullptr);
  vkFreeCommandBuffers(device(), transfer_pool_.get(), 1, &cmd);
}

namespace {
constexpr VkDeviceSize kStagingChunk = VkDeviceSize(64) << 20;
}

void Context::upload(const BufferView& dst, std::span<const std::byte> src) {
  if (src.size() > dst.bytes) fail("internal: upload of {} bytes into a view of {}", src.size(), dst.bytes);
  if (src.empty()) return;
  if (dst.buffer->host_visible()) {
    // Host-visible memory is coherent here; earlier GPU work on it must be finished by the caller.
    std::memcpy(dst.buffer->mapped().data() + dst.offset, src.data(), src.size());
    return;
  }
  Buffer staging = create_buffer(std::min<VkDeviceSize>(src.size(), kStagingChunk), MemoryKind::upload);
  for (VkDeviceSize done = 0; done < src.size();) {
    const VkDeviceSize n = std::min<VkDeviceSize>(src.size() - done, staging.size());
    std::memcpy(staging.mapped().data(), src.data() + done, n);
    copy_now(staging.handle(), 0, dst.buffer->handle(), dst.offset + done, n);
    done += n;
  }
}

void Context::download(const BufferView& src, std::span<std::byte> dst) {
  if (dst.size() > src.bytes) fail("internal: download of {} bytes from a view of {}", dst.size(), src.bytes);
  if (dst.empty()) return;
  if (src.buffer->host_visible()) {
    check(vkQueueWaitIdle(queue_), "vkQueueWaitIdle");
    std::memcpy(dst.data(), src.buffer->mapped().data() + src.offset, dst.size());
    return;
  }
  Buffer staging = create_buffer(std::min<VkDeviceSize>(dst.size(), kStagingChunk), MemoryKind::readback);
  for (VkDeviceSize done = 0; done < dst.size();) {
    const VkDeviceSize n = std::min<VkDeviceSize>(dst.size() - done, staging.size());
    copy_now(src.buffer->handle(), src.offset + done, staging.handle(), 0, n);
    std::memcpy(dst.data() + done, staging.mapped().data(), n);
    done += n;
  }
}

}  // namespace lagvk::vk
