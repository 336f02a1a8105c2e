#pragma once
// A read-only memory mapping of a whole file, unmapped when the object dies. Model weights are read
// straight from the mapping, so opening a multi-gigabyte GGUF costs no copy.
#include <cstdint>
#include <span>
#include <string>

namespace lagvk {

class MappedFile {
 public:
  /// Maps path read-only; throws lagvk::Error naming the path when it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  void release() noexcept;

  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace lagvk
