#pragma once
// RFC 4648 base64, for pages in the store's portable export format.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lagvk::logstore {

[[nodiscard]] std::string base64_encode(std::span<const std::byte> bytes);
/// Throws lagvk::Error on characters outside the alphabet or a bad length.
[[nodiscard]] std::vector<std::byte> base64_decode(std::string_view text);

}  // namespace lagvk::logstore
