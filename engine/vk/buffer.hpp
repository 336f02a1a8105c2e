#pragma once
// A GPU buffer: a VkBuffer bound to a sub-allocation, addressed by kernels through its device address
// (so no descriptor range limit such as maxStorageBufferRange applies to it), or bound through
// descriptors: as a storage buffer, or through the uniform texel buffer views it owns (texel_view).
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "engine/vk/memory.hpp"

namespace lagvk::vk {

/// How a kernel sees a buffer bound as a uniform texel buffer: 32-bit words, 16-byte texels of four
/// words or four floats, or 8-byte texels of four halves (formats every Vulkan device must support for
/// uniform texel buffers; Context checks).
enum class TexelFormat : std::uint8_t { u32, u32x4, f32x4, f16x4 };
inline constexpr TexelFormat kTexelFormats[] = {TexelFormat::u32, TexelFormat::u32x4, TexelFormat::f32x4,
                                                TexelFormat::f16x4};
[[nodiscard]] VkFormat vk_format(TexelFormat format);
[[nodiscard]] constexpr std::uint32_t texel_bytes(TexelFormat format) {
  return format == TexelFormat::u32 ? 4 : format == TexelFormat::f16x4 ? 8 : 16;
}

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

  /// The most texel views one buffer keeps (kernels ask for views at a few fixed offsets; a buffer read
  /// at more offsets than this is read through storage descriptors or addresses from then on).
  static constexpr std::size_t kMaxTexelViews = 16;
  /// A uniform texel buffer view of `texels` texels of `format` from byte `offset` on, created on first
  /// use and owned by the buffer until it is destroyed (thread-safe). VK_NULL_HANDLE once kMaxTexelViews
  /// other views exist. The caller checks the device's limits (Context::texel_binding).
  [[nodiscard]] VkBufferView texel_view(VkDeviceSize offset, VkDeviceSize texels, TexelFormat format) const;

 private:
  struct TexelViews {
    struct Entry {
      VkDeviceSize offset, texels;
      TexelFormat format;
      VkBufferView view;
    };
    std::mutex lock;  ///< streams of several threads may bind the same weights at once
    std::vector<Entry> entries;
  };
  void reset();

  VkDevice device_ = VK_NULL_HANDLE;
  MemoryAllocator* allocator_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  Allocation allocation_;
  VkDeviceSize size_ = 0;
  VkDeviceAddress address_ = 0;
  std::unique_ptr<TexelViews> texel_views_;
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

/// One descriptor of a dispatch: `view` as a storage buffer, or, with `texels`, a uniform texel buffer
/// view starting at view.offset (Context::texel_binding makes those).
struct Binding {
  BufferView view;
  VkBufferView texels = VK_NULL_HANDLE;

  Binding(const BufferView& v) : view(v) {}  // NOLINT: implicit, a storage buffer by default
  Binding(const BufferView& v, VkBufferView t) : view(v), texels(t) {}
};

}  // namespace lagvk::vk
