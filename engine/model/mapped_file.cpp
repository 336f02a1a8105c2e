#include "engine/model/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"

namespace lagvk {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  // A FIFO or a directory is refused before anything blocks or is mapped.
  const FileDescriptor fd = open_regular_file(path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(Errc::io, "cannot read '{}': {}", path, std::strerror(errno));
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED)
      fail(errno == ENOMEM ? Errc::out_of_host_memory : Errc::io, "cannot map '{}' into memory: {}", path,
           std::strerror(errno));
    data_ = static_cast<const std::uint8_t*>(p);
  }
  // The mapping stays valid once the descriptor is closed.
}

MappedFile::~MappedFile() {
  release();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::release() noexcept {
  if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace lagvk
