#pragma once
// A compute pipeline for one shader variant with its specialization constants. Kernels take their inputs
// as push constants (buffer addresses and sizes); variants that read tensors through descriptors
// (PipelineKey::bound_buffers) add one push-descriptor set of that many storage buffers.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lagvk::vk {

/// The most storage buffers a kernel binds through descriptors (set 0, bindings 0 .. n - 1).
inline constexpr std::uint32_t kMaxBoundBuffers = 4;

struct PipelineKey {
  std::string shader;               ///< variant name in the shader registry
  std::vector<std::uint32_t> spec;  ///< specialization constants, constant_id 0, 1, 2, ...
  std::uint32_t push_constant_bytes = 0;
  std::uint32_t required_subgroup_size = 0;  ///< 0 = the driver's choice
  std::uint32_t bound_buffers = 0;           ///< storage buffers in a push-descriptor set 0

  [[nodiscard]] std::string to_string() const;
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
