// libFuzzer target: the export-archive importer (logstore/archive.cpp) as `lagvk log import` runs it:
// check_export validates the whole archive without a store; only an archive it accepts creates a fresh
// store (a new temporary directory per input) and is imported, and must then import whole and verify
// clean. Bad input must end in lagvk::Error from check_export.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "logstore/archive.hpp"
#include "logstore/store.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace lagvk;
namespace fs = std::filesystem;

/// A new empty directory, removed with everything in it when this dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lagvk-fuzz-archive-XXXXXX").string();
    if (!mkdtemp(pattern.data())) fuzz::broken_promise("cannot create a temporary directory", pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// What tools/lagvk/cmd_log.cpp (log_import) does with the file.
void import_archive(const std::string& text) {
  std::istringstream in(text);
  const auto summary = logstore::check_export(in, "fuzz.jsonl");
  const TempDir dir;
  logstore::StoreOptions options;
  options.create = true;
  options.fingerprint = summary.fingerprint;
  options.initial_map_size = 1ull << 20;  // small, so imports also grow the map
  options.max_map_size = 256ull << 20;
  options.durable = false;
  auto store = logstore::Store::open((dir.path() / "store").string(), options);
  std::vector<logstore::ImportedLog> landed;
  try {
    landed = logstore::import_checked_export(*store, in, "fuzz.jsonl", summary);
  } catch (const Error& e) {
    fuzz::broken_promise("an archive check_export accepted failed to import", e.what());
  }
  if (landed.size() != summary.logs)
    fuzz::broken_promise("an accepted archive imported a different number of logs",
                         std::to_string(landed.size()));
  const auto report = store->verify();
  if (!report.ok()) fuzz::broken_promise("an imported archive does not verify", report.problems.front());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_only_lagvk_errors([&] { import_archive(text); });
  return 0;
}
