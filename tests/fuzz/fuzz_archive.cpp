// libFuzzer target: the export-archive importer (logstore/archive.cpp) as `lagvk log import` runs it:
// the header's fingerprint creates a fresh store (a new temporary directory per input), then every line
// is imported. Bad input must end in lagvk::Error. (An import into a real LMDB store costs about a
// millisecond; when the importer gains validation functions that need no store, fuzz those instead.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

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
  std::string header;
  std::getline(in, header);
  const auto j = nlohmann::json::parse(header, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("fingerprint"))
    fail("'fuzz.jsonl' is not a lagvk log export");
  const TempDir dir;
  logstore::StoreOptions options;
  options.create = true;
  options.fingerprint = j["fingerprint"].get<logstore::Fingerprint>();
  options.initial_map_size = 1ull << 20;  // small, so imports also grow the map
  options.max_map_size = 256ull << 20;
  options.durable = false;
  auto store = logstore::Store::open((dir.path() / "store").string(), options);
  in.seekg(0);
  (void)logstore::import_logs(*store, in, "fuzz.jsonl");
  (void)store->verify();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_only_lagvk_errors([&] { import_archive(text); });
  return 0;
}
