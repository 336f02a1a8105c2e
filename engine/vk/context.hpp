#pragma once
// The Vulkan context lagvk runs on: instance, chosen device, one compute queue, memory allocator and
// the cache of pipelines. Everything GPU-side is created through it and must not outlive it.
#include <vulkan/vulkan.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/vk/buffer.hpp"
#include "engine/vk/device_info.hpp"
#include "engine/vk/instance.hpp"
#include "engine/vk/memory.hpp"
#include "engine/vk/pipeline.hpp"

namespace lagvk::vk {

struct ContextOptions {
  int device_index = -1;  ///< -1: LAGVK_DEVICE, else the best-scoring usable device
  InstanceOptions instance = instance_options_from_env();
  VkDeviceSize block_size = VkDeviceSize(256) << 20;  ///< memory sub-allocation block (clamped by the device)
};

class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  [[nodiscard]] const DeviceInfo& info() const { return devices_[chosen_]; }
  [[nodiscard]] const std::vector<DeviceInfo>& devices() const { return devices_; }
  [[nodiscard]] VkDevice device() const { return device_; }
  [[nodiscard]] VkQueue queue() const { return queue_; }
  [[nodiscard]] std::uint32_t queue_family() const { return queue_family_; }
  [[nodiscard]] ValidationLog& validation_log() const { return instance_.validation_log(); }
  [[nodiscard]] bool validation_enabled() const { return instance_.validation_enabled(); }
  [[nodiscard]] MemoryAllocator& allocator() { return *allocator_; }

  [[nodiscard]] Buffer create_buffer(VkDeviceSize size, MemoryKind kind = MemoryKind::device);

  /// Copies host bytes into a buffer: directly when it is host-visible, else through a staging buffer.
  void upload(const BufferView& dst, std::span<const std::byte> src);
  /// Copies buffer contents to the host (waits for the GPU).
  void download(const BufferView& src, std::span<std::byte> dst);

  template <typename T>
  void upload(const BufferView& dst, std::span<const T> src) {
    upload(dst, std::as_bytes(src));
  }
  template <typename T>
  void download(const BufferView& src, std::span<T> dst) {
    download(src, std::as_writable_bytes(dst));
  }

  /// The pipeline for a key, created on first use and cached for the context's life.
  [[nodiscard]] const Pipeline& pipeline(const PipelineKey& key);

 private:
  void copy_now(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst, VkDeviceSize dst_offset,
                VkDeviceSize bytes);

  Instance instance_;
  std::vector<DeviceInfo> devices_;
  std::size_t chosen_ = 0;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  VkCommandPool transfer_pool_ = VK_NULL_HANDLE;
  std::unique_ptr<MemoryAllocator> allocator_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

/// Lists every device without creating a logical device (for `lagvk devices`).
[[nodiscard]] std::vector<DeviceInfo> enumerate_devices(const Instance& instance);

}  // namespace lagvk::vk
