#include "engine/vk/memory.hpp"

#include <algorithm>

#include "engine/vk/check.hpp"

namespace lagvk::vk {

MemoryBlock::MemoryBlock(VkDevice device, std::uint32_t type_index, VkDeviceSize size, bool host_visible)
    : device_(device), type_index_(type_index), size_(size) {
  VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;  // kernels address tensors by pointer
  VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  info.pNext = &flags;
  info.allocationSize = size;
  info.memoryTypeIndex = type_index;
  check(vkAllocateMemory(device, &info, nullptr, &memory_), "vkAllocateMemory");
  if (host_visible) {
    void* p = nullptr;
    VkResult r = vkMapMemory(device, memory_, 0, VK_WHOLE_SIZE, 0, &p);
    if (r != VK_SUCCESS) {
      vkFreeMemory(device, memory_, nullptr);
      check(r, "vkMapMemory");
    }
    mapped_ = static_cast<std::byte*>(p);
  }
  free_[0] = size;
}

MemoryBlock::~MemoryBlock() {
  if (mapped_) vkUnmapMemory(device_, memory_);
  vkFreeMemory(device_, memory_, nullptr);
}

bool MemoryBlock::try_allocate(VkDeviceSize size, VkDeviceSize alignment, Allocation& out) {
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const VkDeviceSize start = (it->first + alignment - 1) / alignment * alignment;
    const VkDeviceSize end = it->first + it->second;
    if (start + size > end) continue;
    const VkDeviceSize range_start = it->first;
    free_.erase(it);
    if (start > range_start) free_[range_start] = start - range_start;
    if (start + size < end) free_[start + size] = end - (start + size);
    out.block = this;
    out.memory = memory_;
    out.offset = start;
    out.size = size;
    out.mapped = mapped_ ? mapped_ + start : nullptr;
    return true;
  }
  return false;
}

void MemoryBlock::release(VkDeviceSize offset, VkDeviceSize size) {
  auto [it, inserted] = free_.emplace(offset, size);
  // Merge with the following and the preceding free ranges.
  if (auto next = std::next(it); next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
    }
  }
}

VkDeviceSize MemoryBlock::free_bytes() const {
  VkDeviceSize total = 0;
  for (const auto& [offset, size] : free_) total += size;
  return total;
}

MemoryAllocator::MemoryAllocator(VkPhysicalDevice physical, VkDevice device, VkDeviceSize block_size,
                                 VkDeviceSize max_allocation)
    : device_(device), block_size_(block_size), max_allocation_(max_allocation) {
  vkGetPhysicalDeviceMemoryProperties(physical, &props_);
  const std::uint32_t t = choose_type(~0u, MemoryKind::device);
  device_host_visible_ = (props_.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
}

std::uint32_t MemoryAllocator::choose_type(std::uint32_t type_bits, MemoryKind kind) const {
  VkMemoryPropertyFlags required = 0, preferred = 0;
  switch (kind) {
    case MemoryKind::device:
      preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      break;
    case MemoryKind::upload:
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
    case MemoryKind::readback:
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      break;
  }
  int best = -1;
  for (std::uint32_t i = 0; i < props_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const auto flags = props_.memoryTypes[i].propertyFlags;
    if ((flags & required) != required) continue;
    if ((flags & preferred) == preferred) return i;
    if (best < 0) best = int(i);
  }
  if (best < 0)
    fail(Errc::out_of_device_memory, "no Vulkan memory type fits the request (type bits 0x{:x})", type_bits);
  return std::uint32_t(best);
}

Allocation MemoryAllocator::allocate(const VkMemoryRequirements& req, MemoryKind kind) {
  if (req.size > max_allocation_)
    fail(Errc::out_of_device_memory,
         "a single tensor of {} MiB exceeds this device's maxMemoryAllocationSize of {} MiB", req.size >> 20,
         max_allocation_ >> 20);
  const std::uint32_t type = choose_type(req.memoryTypeBits, kind);
  const bool host_visible =
      (props_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
  const VkDeviceSize alignment = std::max<VkDeviceSize>(req.alignment, 256);
  Allocation a;
  for (auto& b : blocks_)
    if (b->type_index() == type && b->try_allocate(req.size, alignment, a)) return a;
  // Requests bigger than a block get a block of their own size (freed when emptied).
  const VkDeviceSize size = std::max(block_size_, req.size);
  blocks_.push_back(std::make_unique<MemoryBlock>(device_, type, size, host_visible));
  if (!blocks_.back()->try_allocate(req.size, alignment, a)) fail("internal: fresh memory block too small");
  return a;
}

void MemoryAllocator::free(const Allocation& allocation) {
  if (!allocation.block) return;
  allocation.block->release(allocation.offset, allocation.size);
  // Give oversized or idle blocks back to the driver, keeping one of the regular size per type warm.
  if (allocation.block->empty()) {
    auto it = std::find_if(blocks_.begin(), blocks_.end(),
                           [&](const auto& b) { return b.get() == allocation.block; });
    const bool oversized = allocation.block->size() > block_size_;
    const auto same_type = std::count_if(blocks_.begin(), blocks_.end(), [&](const auto& b) {
      return b->type_index() == allocation.block->type_index();
    });
    if (it != blocks_.end() && (oversized || same_type > 1)) blocks_.erase(it);
  }
}

VkDeviceSize MemoryAllocator::allocated_bytes() const {
  VkDeviceSize total = 0;
  for (const auto& b : blocks_) total += b->size();
  return total;
}

}  // namespace lagvk::vk
