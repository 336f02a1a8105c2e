// lagvk's assets directory, found from /proc/self/exe (see assets.hpp).
#include "tools/lagvk/assets.hpp"

#include <filesystem>
#include <system_error>

namespace lagvk::cli {

std::string assets_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  // Without /proc (a chroot), the relative path still works when lagvk is started from its own directory.
  const auto bin_dir = ec ? std::filesystem::path(".") : exe.parent_path();
  return (bin_dir / LAGVK_ASSETS_RELATIVE_DIR).lexically_normal().string();
}

}  // namespace lagvk::cli
