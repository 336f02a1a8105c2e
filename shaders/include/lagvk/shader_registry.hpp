#pragma once
// The compiled compute shaders embedded in the library, looked up by variant name
// (the names given to lagvk_shader() in shaders/shaders.cmake).
#include <cstdint>
#include <span>
#include <string_view>

namespace lagvk {

/// SPIR-V words of a shader variant, or an empty span when no variant has that name.
[[nodiscard]] std::span<const std::uint32_t> find_spirv(std::string_view name);

}  // namespace lagvk
