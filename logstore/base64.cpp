#include "logstore/base64.hpp"

#include <array>

#include "engine/core/error.hpp"

namespace lagvk::logstore {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t b0 = std::uint32_t(bytes[i]);
    const std::uint32_t b1 = i + 1 < bytes.size() ? std::uint32_t(bytes[i + 1]) : 0;
    const std::uint32_t b2 = i + 2 < bytes.size() ? std::uint32_t(bytes[i + 2]) : 0;
    const std::uint32_t v = b0 << 16 | b1 << 8 | b2;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::vector<std::byte> base64_decode(std::string_view text) {
  std::array<int, 256> value{};
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kAlphabet[i])] = i;
  if (text.size() % 4 != 0)
    fail(Errc::bad_input, "base64 text has a length ({}) that is not a multiple of 4", text.size());
  std::vector<std::byte> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + std::size_t(j)];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if ((v[j] = value[static_cast<unsigned char>(c)]) < 0 || pad) {
        fail(Errc::bad_input, "invalid base64 character at offset {}", i + std::size_t(j));
      }
    }
    const std::uint32_t n = std::uint32_t(v[0]) << 18 | std::uint32_t(v[1]) << 12 | std::uint32_t(v[2]) << 6 |
                            std::uint32_t(v[3]);
    out.push_back(std::byte(n >> 16));
    if (pad < 2) out.push_back(std::byte((n >> 8) & 0xff));
    if (pad < 1) out.push_back(std::byte(n & 0xff));
  }
  return out;
}

}  // namespace lagvk::logstore
