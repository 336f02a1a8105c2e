#pragma once
// A GPU buffer: a VkBuffer bound to a sub-allocation, addressed by kernels through its device address
// (so no descriptor range limit such as maxStorageBufferRange applies to it).
#include <vulkan/vulkan.h>

#include <cstddef>
#include <span>

#include "engine/vk/memory.hpp"

namespace lagvk::vk {

class Buffer {
 public:
  Buffer() = default;
  Buffer(VkDevice device, MemoryAllocator& allocator, VkDeviceSize size, MemoryKind kind);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  [[nodiscard]] VkBuffer handle() const { return buffer_; }
  [[nodiscard]] VkDeviceSize size() const { return size_; }
  [[nodiscard]] VkDeviceAddress address() const { return address_; }
  /// Host view of the contents, or empty when the memory is not host-visible.
  [[nodiscard]] std::span<std::byte> mapped() const {
    return allocation_.mapped ? std::span<std::byte>(allocation_.mapped, size_) : std::span<std::byte>();
  }
  [[nodiscard]] bool host_visible() const { return allocation_.mapped != nullptr; }
  [[nodiscard]] explicit operator bool() const { return buffer_ != VK_NULL_HANDLE; }

 private:
  void reset();

  VkDevice device_ = VK_NULL_HANDLE;
  MemoryAllocator* allocator_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  Allocation allocation_;
  VkDeviceSize size_ = 0;
  VkDeviceAddress address_ = 0;
};

/// A byte range of a buffer, as handed to kernels: its device address and length.
struct BufferView {
  const Buffer* buffer = nullptr;
  VkDeviceSize offset = 0;
  VkDeviceSize bytes = 0;

  BufferView() = default;
  BufferView(const Buffer& b) : buffer(&b), offset(0), bytes(b.size()) {}  // NOLINT: implicit by design
  BufferView(const Buffer& b, VkDeviceSize off, VkDeviceSize len) : buffer(&b), offset(off), bytes(len) {}

  [[nodiscard]] VkDeviceAddress address() const { return buffer->address() + offset; }
  [[nodiscard]] BufferView sub(VkDeviceSize off, VkDeviceSize len) const;
};

}  // namespace lagvk::vk
