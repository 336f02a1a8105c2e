#pragma once
// A compute pipeline for one shader variant with its specialization constants. Kernels take their inputs
// as push constants (buffer addresses and sizes); variants that read tensors through descriptors
// (PipelineKey::bound_buffers) add one push-descriptor set of that many storage buffers or uniform texel
// buffers (PipelineKey::texel_bindings).
#include <vulkan/vulkan.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace lagvk::vk {

/// Specialization constants, constant_id 0, 1, 2, ...: a few values held inline, so that building a key
/// for every dispatch allocates nothing.
class SpecConstants {
 public:
  static constexpr std::size_t kMax = 8;

  SpecConstants() = default;
  SpecConstants(std::initializer_list<std::uint32_t> values);  // NOLINT: implicit, keys read {a, b}

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] const std::uint32_t* data() const { return values_.data(); }
  [[nodiscard]] const std::uint32_t* begin() const { return values_.data(); }
  [[nodiscard]] const std::uint32_t* end() const { return values_.data() + size_; }
  [[nodiscard]] std::uint32_t operator[](std::size_t i) const { return values_[i]; }
  friend bool operator==(const SpecConstants& a, const SpecConstants& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::array<std::uint32_t, kMax> values_{};
  std::size_t size_ = 0;
};

/// The most descriptors a kernel binds (set 0, bindings 0 .. n - 1): matvec's texel variant binds W as
/// texels and as words, x, y and the input norm's weight. VK_KHR_push_descriptor guarantees 32.
inline constexpr std::uint32_t kMaxBoundBuffers = 5;

struct PipelineKey {
  std::string shader;  ///< variant name in the shader registry
  SpecConstants spec;
  std::uint32_t push_constant_bytes = 0;
  std::uint32_t required_subgroup_size = 0;  ///< 0 = the driver's choice
  std::uint32_t bound_buffers = 0;           ///< descriptors in a push-descriptor set 0
  std::uint32_t texel_bindings = 0;          ///< bit i set: binding i is a uniform texel buffer

  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const PipelineKey&, const PipelineKey&) = default;
};

/// Hashes a key without formatting it (Context looks a pipeline up on every dispatch).
struct PipelineKeyHash {
  [[nodiscard]] std::size_t operator()(const PipelineKey& key) const noexcept;
};

class Pipeline {
 public:
  Pipeline(VkDevice device, VkPipelineCache cache, const PipelineKey& key);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  [[nodiscard]] VkPipeline handle() const { return pipeline_; }
  [[nodiscard]] VkPipelineLayout layout() const { return layout_; }
  [[nodiscard]] const PipelineKey& key() const { return key_; }

 private:
  VkDevice device_;
  PipelineKey key_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

}  // namespace lagvk::vk
