#pragma once
// Where the CLI's data files are (the agent demo's knowledge base, the multihop suite): found relative to
// the lagvk executable, so an installed lagvk (P/bin/lagvk, P/share/lagvk) needs nothing but its prefix.
// The build tree mirrors that layout (build/share/lagvk links to the source's assets/).
#include <string>

namespace lagvk::cli {

/// The assets directory: LAGVK_ASSETS_RELATIVE_DIR (tools/CMakeLists.txt) from the executable's directory.
[[nodiscard]] std::string assets_dir();

}  // namespace lagvk::cli
