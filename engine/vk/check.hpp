#pragma once
// Turns a failed Vulkan call into a lagvk::Error naming the call and the result code.
#include <vulkan/vulkan.h>

#include "engine/core/error.hpp"

namespace lagvk::vk {

[[nodiscard]] const char* result_name(VkResult result);

/// Throws lagvk::Error("<what>: <VkResult name>") unless result is VK_SUCCESS. A lost device gets a
/// message telling the user that GPU state is gone and the process must restart its work.
void check(VkResult result, const char* what);

}  // namespace lagvk::vk
