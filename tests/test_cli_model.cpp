// The model-layer subcommands end to end through the built lagvk binary: make-model writes a file
// that model-info describes and tokenize reads, and bad input gives an error exit, not a crash.
#include <gtest/gtest.h>

#include "tests/support/cli.hpp"
#include "tests/support/references.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/model/gguf_reader.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

const std::string kLagvk = test::lagvk_binary();

using Result = test::CliResult;
Result run(const std::string& args) {
  return test::run_lagvk(args);
}

class CliModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kLagvk)) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
    scratch_.emplace("cli_model");
    dir_ = scratch_->path();
  }
  std::optional<test::ScratchDir> scratch_;
  std::filesystem::path dir_;
};

TEST_F(CliModel, MakeModelThenModelInfoThenTokenize) {
  const auto path = (dir_ / "m.gguf").string();
  auto r =
      run("make-model --type q8_0 --layers 2 --dim 64 --heads 4 --kv-heads 2 --ff 128 --vocab 400 "
          "--ctx 512 --seed 3 --rope-factors -o " +
          path);
  ASSERT_EQ(r.status, 0) << r.out;

  r = run("model-info --json -m " + path);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["hparams"]["block_count"], 2);
  EXPECT_EQ(j["hparams"]["head_count_kv"], 2);
  EXPECT_EQ(j["hparams"]["vocab_size"], 400);
  EXPECT_EQ(j["hparams"]["rope_freqs"], true);
  EXPECT_EQ(j["tensor_types"]["Q8_0"]["count"], 2 * 7 + 2);  // 7 matrices a layer, token_embd, output
  EXPECT_EQ(j["tokenizer"]["model"], "llama");

  r = run("tokenize --json --bos -m " + path + " 'the cat sat'");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto ids = nlohmann::json::parse(r.out).get<std::vector<std::int32_t>>();
  const auto file = GgufFile::open(path);
  EXPECT_EQ(ids, make_tokenizer(file)->encode("the cat sat", true, false));
  EXPECT_EQ(ids.front(), 1);

  // The same seed writes the same bytes.
  const auto again = (dir_ / "again.gguf").string();
  ASSERT_EQ(run("make-model --type q8_0 --layers 2 --dim 64 --heads 4 --kv-heads 2 --ff 128 --vocab 400 "
                "--ctx 512 --seed 3 --rope-factors -o " +
                again)
                .status,
            0);
  std::ifstream a(path, std::ios::binary), b(again, std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(a), {}, std::istreambuf_iterator<char>(b)));
}

TEST_F(CliModel, BadInputIsAnErrorExitNotACrash) {
  auto r = run("model-info -m " + (dir_ / "missing.gguf").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("cannot open"), std::string::npos) << r.out;

  const auto junk = (dir_ / "junk.gguf").string();
  { std::ofstream(junk) << "GGUF\x03 and then nothing useful"; }
  r = run("tokenize -m " + junk + " hello");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(junk), std::string::npos) << "the error names the file: " << r.out;

  r = run("make-model --dim 60 --heads 8 -o " + (dir_ / "x.gguf").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("dimension 60 must be a multiple of its heads 8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--dim"), std::string::npos) << "the command names the flags: " << r.out;
  r = run("make-model --type iq2_xxs -o " + (dir_ / "x.gguf").string());  // a ggml type lagvk cannot write
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: lagvk make-model: unknown --type 'iq2_xxs'"), std::string::npos) << r.out;
}

// The issue #25 architectures' make-model flags are refused for architectures without the feature, and
// bad values name the flag (tests/test_cli_run.cpp runs the models).
TEST_F(CliModel, MakeModelGemmaFlags) {
  const auto x = (dir_ / "x.gguf").string();
  auto r = run("make-model --sliding-window 8 -o " + x);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: lagvk make-model: --sliding-window is for --arch gemma2 or gemma3"),
            std::string::npos)
      << r.out;
  r = run("make-model --arch gemma3 --attn-softcap 20 -o " + x);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("error: lagvk make-model: --attn-softcap is for --arch gemma2"), std::string::npos)
      << r.out;
  r = run("make-model --arch gemma2 --final-softcap 0 -o " + x);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--final-softcap"), std::string::npos) << r.out;
  r = run("make-model --arch gemma2 --sliding-window 0 -o " + x);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--sliding-window"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lagvk
