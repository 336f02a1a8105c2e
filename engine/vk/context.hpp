#pragma once
// The Vulkan context lagvk runs on: instance, chosen device, one compute queue, memory allocator and
// the cache of pipelines. Everything GPU-side is created through it and must not outlive it.
#include <vulkan/vulkan.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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
  /// Test hook: called after each step of the constructor ("device", "pipeline cache", "command pool",
  /// "allocator") with the step's name. Tests throw from it to check that a constructor failing part-way
  /// frees everything it made.
  std::function<void(std::string_view step)> after_step;
};

/// Owns the logical device: destroyed after every object made from it (it is declared before them).
class DeviceHandle {
 public:
  DeviceHandle() = default;
  explicit DeviceHandle(VkDevice device) : device_(device) {}
  ~DeviceHandle() {
    if (device_ != VK_NULL_HANDLE) vkDestroyDevice(device_, nullptr);
  }
  DeviceHandle(DeviceHandle&& other) noexcept : device_(std::exchange(other.device_, VK_NULL_HANDLE)) {}
  DeviceHandle& operator=(DeviceHandle&& other) noexcept {
    std::swap(device_, other.device_);
    return *this;
  }

  [[nodiscard]] VkDevice get() const { return device_; }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
};

/// Owns one object of a device (a pipeline cache, a command pool) and destroys it with `Destroy`.
template <typename Handle, void (*Destroy)(VkDevice, Handle, const VkAllocationCallbacks*)>
class DeviceObject {
 public:
  DeviceObject() = default;
  DeviceObject(VkDevice device, Handle handle) : device_(device), handle_(handle) {}
  ~DeviceObject() {
    if (handle_ != VK_NULL_HANDLE) Destroy(device_, handle_, nullptr);
  }
  DeviceObject(DeviceObject&& other) noexcept
      : device_(other.device_), handle_(std::exchange(other.handle_, VK_NULL_HANDLE)) {}
  DeviceObject& operator=(DeviceObject&& other) noexcept {
    std::swap(device_, other.device_);
    std::swap(handle_, other.handle_);
    return *this;
  }

  [[nodiscard]] Handle get() const { return handle_; }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  Handle handle_ = VK_NULL_HANDLE;
};

class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  [[nodiscard]] const DeviceInfo& info() const { return devices_[chosen_]; }
  [[nodiscard]] const std::vector<DeviceInfo>& devices() const { return devices_; }
  [[nodiscard]] VkDevice device() const { return device_.get(); }
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

  /// Whether a kernel should read `view` through a descriptor (push descriptors, Pipeline's
  /// bound_buffers) rather than its buffer device address: the one place that decides. Descriptors are
  /// preferred wherever they are possible: every driver optimises descriptor-bound storage buffers, some
  /// (Mesa's llvmpipe) turn each load through a buffer device address into a loop over the lanes, and on
  /// drivers where both are fast a push descriptor costs one small command per dispatch. Possible means:
  /// the device has VK_KHR_push_descriptor, the view fits maxStorageBufferRange (and the test hook
  /// ContextOptions::binding_limit) and starts at a multiple of minStorageBufferOffsetAlignment.
  [[nodiscard]] bool can_bind(const BufferView& view) const;
  /// Where the device prefers it (texel_reads), a uniform texel buffer binding through which a kernel
  /// reads `view` as texels of `format`, else nullopt. On CPU devices: Mesa's llvmpipe turns every
  /// storage-buffer load whose address differs between lanes into a loop over the lanes that goes
  /// through the stack, while texel fetches are gathered in registers (measured there: a matrix-vector
  /// product 10-20x faster). GPUs read storage buffers at least as fast, so they keep those. Possible
  /// means: `view` starts at a multiple of minTexelBufferOffsetAlignment and of the texel, holds at most
  /// maxTexelBufferElements texels (and no more bytes than limit_bindings allows), and its buffer has
  /// room for another view (Buffer::kMaxTexelViews). The view reaches from view.offset to the buffer's
  /// end or the device's limit, so kernels index from view.offset.
  [[nodiscard]] std::optional<Binding> texel_binding(const BufferView& view, TexelFormat format) const;
  /// Whether texel_binding binds anything: on CPU devices unless a test turned it off.
  [[nodiscard]] bool texel_reads() const { return texel_reads_; }
  /// Test and benchmark hook: turns texel reads on or off (on works on every device: uniform texel
  /// buffers of the three TexelFormats are core Vulkan). Returns the previous setting.
  bool set_texel_reads(bool on);
  /// Records vkCmdPushDescriptorSetKHR binding `bindings` as descriptors 0, 1, ... of set 0 of
  /// `pipeline`'s layout: storage buffers (each satisfying can_bind) or, where the pipeline's
  /// texel_bindings say so, texel views.
  void push_bindings(VkCommandBuffer cmd, const Pipeline& pipeline, std::span<const Binding> bindings) const;
  /// For tests and benchmarks of the access paths: binds no view larger than `bytes` through a
  /// descriptor (storage or texel) from now on (as if the device's maxStorageBufferRange were that
  /// small; 1 sends every tensor through its address); 0 restores the device's own limits. Returns the
  /// limit it replaces (0: none).
  VkDeviceSize limit_bindings(VkDeviceSize bytes);

  /// The pipeline for a key, created on first use and cached for the context's life (a hash lookup,
  /// cheap enough for every dispatch; the reference stays valid).
  [[nodiscard]] const Pipeline& pipeline(const PipelineKey& key);

 private:
  /// Whether the device reads every TexelFormat through uniform texel buffers (the spec requires it).
  static bool texel_formats_supported(VkPhysicalDevice device);
  void copy_now(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst, VkDeviceSize dst_offset,
                VkDeviceSize bytes);

  // Every member owns what it holds and members are destroyed in reverse order, so a constructor that
  // throws part-way frees exactly what it had made, and the device goes after its objects, the instance
  // last.
  Instance instance_;
  std::vector<DeviceInfo> devices_;
  std::size_t chosen_ = 0;
  DeviceHandle device_;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  DeviceObject<VkPipelineCache, vkDestroyPipelineCache> pipeline_cache_;
  DeviceObject<VkCommandPool, vkDestroyCommandPool> transfer_pool_;
  std::unique_ptr<MemoryAllocator> allocator_;
  std::mutex pipelines_lock_;  ///< kernels of several threads' streams may look pipelines up at once
  std::unordered_map<PipelineKey, std::unique_ptr<Pipeline>, PipelineKeyHash> pipelines_;
  VkDeviceSize device_binding_limit_ = 0;  ///< largest view a storage descriptor can bind; 0: none can
  VkDeviceSize test_binding_limit_ = 0;    ///< limit_bindings' limit on every descriptor; 0: none
  bool texel_reads_ = false;
  PFN_vkCmdPushDescriptorSetKHR cmd_push_descriptor_set_ = nullptr;
};

/// Lists every device without creating a logical device (for `lagvk devices`).
[[nodiscard]] std::vector<DeviceInfo> enumerate_devices(const Instance& instance);

}  // namespace lagvk::vk
