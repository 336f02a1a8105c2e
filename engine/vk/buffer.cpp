#include "engine/vk/buffer.hpp"

#include <mutex>
#include <utility>
#include <vector>

#include "engine/vk/check.hpp"

namespace lagvk::vk {

Buffer::Buffer(VkDevice device, MemoryAllocator& allocator, VkDeviceSize size, MemoryKind kind)
    : device_(device), allocator_(&allocator), size_(size) {
  if (size == 0) fail("internal: zero-sized GPU buffer");
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
               VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device, &info, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device, buffer_, &req);
  try {
    allocation_ = allocator.allocate(req, kind);
    check(vkBindBufferMemory(device, buffer_, allocation_.memory, allocation_.offset), "vkBindBufferMemory");
  } catch (...) {
    reset();
    throw;
  }
  VkBufferDeviceAddressInfo addr{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
  addr.buffer = buffer_;
  address_ = vkGetBufferDeviceAddress(device, &addr);
  texel_views_ = std::make_unique<TexelViews>();
}

Buffer::~Buffer() {
  reset();
}

Buffer::Buffer(Buffer&& other) noexcept {
  *this = std::move(other);
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    device_ = std::exchange(other.device_, VK_NULL_HANDLE);
    allocator_ = std::exchange(other.allocator_, nullptr);
    buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
    allocation_ = std::exchange(other.allocation_, Allocation{});
    size_ = std::exchange(other.size_, 0);
    address_ = std::exchange(other.address_, 0);
    texel_views_ = std::move(other.texel_views_);
  }
  return *this;
}

VkFormat vk_format(TexelFormat format) {
  switch (format) {
    case TexelFormat::u32:
      return VK_FORMAT_R32_UINT;
    case TexelFormat::u32x4:
      return VK_FORMAT_R32G32B32A32_UINT;
    case TexelFormat::f32x4:
      return VK_FORMAT_R32G32B32A32_SFLOAT;
    case TexelFormat::f16x4:
      return VK_FORMAT_R16G16B16A16_SFLOAT;
  }
  return VK_FORMAT_UNDEFINED;
}

VkBufferView Buffer::texel_view(VkDeviceSize offset, VkDeviceSize texels, TexelFormat format) const {
  if (!texel_views_) return VK_NULL_HANDLE;
  const std::lock_guard guard(texel_views_->lock);
  auto& entries = texel_views_->entries;
  for (const auto& e : entries)
    if (e.offset == offset && e.texels == texels && e.format == format) return e.view;
  if (entries.size() >= kMaxTexelViews) return VK_NULL_HANDLE;
  VkBufferViewCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  info.buffer = buffer_;
  info.format = vk_format(format);
  info.offset = offset;
  info.range = texels * texel_bytes(format);
  if (info.offset + info.range > size_) fail("internal: texel view past the end of a {}-byte buffer", size_);
  VkBufferView view = VK_NULL_HANDLE;
  check(vkCreateBufferView(device_, &info, nullptr, &view), "vkCreateBufferView");
  entries.push_back({offset, texels, format, view});
  return view;
}

void Buffer::reset() {
  if (texel_views_)
    for (const auto& e : texel_views_->entries) vkDestroyBufferView(device_, e.view, nullptr);
  texel_views_.reset();
  if (buffer_ != VK_NULL_HANDLE) vkDestroyBuffer(device_, buffer_, nullptr);
  if (allocator_ && allocation_.block) allocator_->free(allocation_);
  buffer_ = VK_NULL_HANDLE;
  allocation_ = {};
}

BufferView BufferView::sub(VkDeviceSize off, VkDeviceSize len) const {
  if (off + len > bytes)
    fail("internal: buffer view [{}, {}) outside a view of {} bytes", off, off + len, bytes);
  return BufferView(*buffer, offset + off, len);
}

}  // namespace lagvk::vk
