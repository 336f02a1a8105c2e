#include "engine/vk/pipeline.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/vk/check.hpp"
#include "lagvk/shader_registry.hpp"

namespace lagvk::vk {

SpecConstants::SpecConstants(std::initializer_list<std::uint32_t> values) : size_(values.size()) {
  if (values.size() > kMax)
    fail("internal: {} specialization constants, at most {} fit a key", values.size(), kMax);
  std::copy(values.begin(), values.end(), values_.begin());
}

std::size_t PipelineKeyHash::operator()(const PipelineKey& key) const noexcept {
  std::size_t h = std::hash<std::string_view>()(key.shader);
  const auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  for (auto v : key.spec) mix(v);
  mix(key.push_constant_bytes);
  mix(key.required_subgroup_size);
  mix(key.bound_buffers);
  mix(key.texel_bindings);
  return h;
}

std::string PipelineKey::to_string() const {
  return fmt::format("{}[{}]/pc{}/sg{}/b{}/t{}", shader, fmt::join(spec, ","), push_constant_bytes,
                     required_subgroup_size, bound_buffers, texel_bindings);
}

Pipeline::Pipeline(VkDevice device, VkPipelineCache cache, const PipelineKey& key)
    : device_(device), key_(key) {
  const auto words = find_spirv(key.shader);
  if (words.empty()) fail("internal: no compiled shader named '{}'", key.shader);
  try {
    VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    module_info.codeSize = words.size_bytes();
    module_info.pCode = words.data();
    check(vkCreateShaderModule(device, &module_info, nullptr, &module_), "vkCreateShaderModule");

    if (key.bound_buffers > kMaxBoundBuffers)
      fail("internal: {} binds {} buffers, at most {}", key.shader, key.bound_buffers, kMaxBoundBuffers);
    VkDescriptorSetLayoutBinding bindings[kMaxBoundBuffers];
    for (std::uint32_t i = 0; i < key.bound_buffers; ++i)
      bindings[i] = {i,
                     (key.texel_bindings >> i) & 1u ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                    : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                     1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    if (key.bound_buffers) {
      VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
      set_info.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
      set_info.bindingCount = key.bound_buffers;
      set_info.pBindings = bindings;
      check(vkCreateDescriptorSetLayout(device, &set_info, nullptr, &set_layout_),
            "vkCreateDescriptorSetLayout");
    }

    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, key.push_constant_bytes};
    VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    layout_info.setLayoutCount = key.bound_buffers ? 1 : 0;
    layout_info.pSetLayouts = &set_layout_;
    layout_info.pushConstantRangeCount = key.push_constant_bytes ? 1 : 0;
    layout_info.pPushConstantRanges = &range;
    check(vkCreatePipelineLayout(device, &layout_info, nullptr, &layout_), "vkCreatePipelineLayout");

    std::vector<VkSpecializationMapEntry> entries;
    for (std::uint32_t i = 0; i < key.spec.size(); ++i)
      entries.push_back({i, i * std::uint32_t(sizeof(std::uint32_t)), sizeof(std::uint32_t)});
    VkSpecializationInfo spec{std::uint32_t(entries.size()), entries.data(),
                              key.spec.size() * sizeof(std::uint32_t), key.spec.data()};

    VkPipelineShaderStageRequiredSubgroupSizeCreateInfo subgroup{
        VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
    subgroup.requiredSubgroupSize = key.required_subgroup_size;

    VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    info.stage.pNext = key.required_subgroup_size ? &subgroup : nullptr;
    info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    info.stage.module = module_;
    info.stage.pName = "main";
    info.stage.pSpecializationInfo = entries.empty() ? nullptr : &spec;
    info.layout = layout_;
    check(vkCreateComputePipelines(device, cache, 1, &info, nullptr, &pipeline_), "vkCreateComputePipelines");
  } catch (...) {
    if (layout_) vkDestroyPipelineLayout(device_, layout_, nullptr);
    if (set_layout_) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
    if (module_) vkDestroyShaderModule(device_, module_, nullptr);
    throw;
  }
}

Pipeline::~Pipeline() {
  vkDestroyPipeline(device_, pipeline_, nullptr);
  vkDestroyPipelineLayout(device_, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  vkDestroyShaderModule(device_, module_, nullptr);
}

}  // namespace lagvk::vk
