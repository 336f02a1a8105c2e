#pragma once
// Device memory: a few large VkDeviceMemory blocks per memory type, sub-allocated first-fit.
// Vulkan implementations limit the number of live allocations (often 4096) and allocation is slow,
// so tensors never get an allocation of their own unless they are larger than a block.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace lagvk::vk {

enum class MemoryKind {
  device,    ///< fastest for kernels; may not be host-visible (discrete GPUs)
  upload,    ///< host-visible, coherent: staging for uploads
  readback,  ///< host-visible, cached where possible: results read by the host
};

class MemoryBlock;

/// A sub-range of a block. Returned to its block by MemoryAllocator::free.
struct Allocation {
  MemoryBlock* block = nullptr;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  std::byte* mapped = nullptr;  ///< host pointer to offset, or null when not host-visible
};

class MemoryBlock {
 public:
  MemoryBlock(VkDevice device, std::uint32_t type_index, VkDeviceSize size, bool host_visible);
  ~MemoryBlock();
  MemoryBlock(const MemoryBlock&) = delete;
  MemoryBlock& operator=(const MemoryBlock&) = delete;

  /// Reserves size bytes at the given alignment; false when the block has no room.
  [[nodiscard]] bool try_allocate(VkDeviceSize size, VkDeviceSize alignment, Allocation& out);
  void release(VkDeviceSize offset, VkDeviceSize size);

  [[nodiscard]] std::uint32_t type_index() const { return type_index_; }
  [[nodiscard]] VkDeviceSize size() const { return size_; }
  [[nodiscard]] VkDeviceSize free_bytes() const;
  [[nodiscard]] bool empty() const { return free_bytes() == size_; }

 private:
  VkDevice device_;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  std::uint32_t type_index_;
  VkDeviceSize size_;
  std::byte* mapped_ = nullptr;
  std::map<VkDeviceSize, VkDeviceSize> free_;  ///< offset -> size of each free range
};

class MemoryAllocator {
 public:
  MemoryAllocator(VkPhysicalDevice physical, VkDevice device, VkDeviceSize block_size,
                  VkDeviceSize max_allocation);
  MemoryAllocator(const MemoryAllocator&) = delete;
  MemoryAllocator& operator=(const MemoryAllocator&) = delete;

  [[nodiscard]] Allocation allocate(const VkMemoryRequirements& req, MemoryKind kind);
  void free(const Allocation& allocation);

  /// True when device memory is also host-visible (integrated GPUs, lavapipe): uploads need no staging.
  [[nodiscard]] bool device_memory_is_host_visible() const { return device_host_visible_; }
  [[nodiscard]] VkDeviceSize allocated_bytes() const;

 private:
  [[nodiscard]] std::uint32_t choose_type(std::uint32_t type_bits, MemoryKind kind) const;

  VkPhysicalDeviceMemoryProperties props_{};
  VkDevice device_;
  VkDeviceSize block_size_;
  VkDeviceSize max_allocation_;
  bool device_host_visible_ = false;
  std::vector<std::unique_ptr<MemoryBlock>> blocks_;
};

}  // namespace lagvk::vk
