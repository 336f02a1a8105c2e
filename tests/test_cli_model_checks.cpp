// Crafted GGUF models that the model layer must refuse before anything is allocated or run: every
// command that reads a model (tokenize, run, ask, eval, log add) exits 1 with the same message, and
// model-info, which describes any file it can parse and exits 0, gives that message and never says
// "checks passed" for a file that run would refuse. Also paths that
// are not regular files (a directory, a FIFO) are refused up front, without blocking.
#include <gtest/gtest.h>

#include "tests/support/cli.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/half.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::run_lagvk;

RandomModelSpec tiny() {
  RandomModelSpec s;
  s.n_layers = 2;
  s.n_embd = 64;
  s.n_head = 1;  // one head of 64: q and kv widths are both 64, which the wrapping case below needs
  s.n_head_kv = 1;
  s.n_ff = 128;
  s.n_vocab = 300;
  s.n_ctx = 128;
  return s;
}

// A copy of the model's file in which the tensors named by `f16` are stored as F16.
GgufWriter with_f16_tensors(const GgufWriter& original, const std::function<bool(const std::string&)>& f16) {
  const auto file = GgufFile::from_bytes(original.to_bytes());
  GgufWriter w;
  for (const auto& [key, value] : file.metadata())
    if (key != "general.alignment") w.set(key, value);
  for (const auto& t : file.tensors()) {
    const auto data = file.tensor_data(t);
    if (!f16(t.name) || t.type != GgmlType::f32) {
      w.add_tensor(t.name, t.dims, t.type, std::vector<std::uint8_t>(data.begin(), data.end()));
      continue;
    }
    std::vector<float> values(t.n_elements);
    std::memcpy(values.data(), data.data(), values.size() * sizeof(float));
    const auto halves = to_half(values);
    std::vector<std::uint8_t> bytes(halves.size() * sizeof(half_bits));
    std::memcpy(bytes.data(), halves.data(), bytes.size());
    w.add_tensor(t.name, t.dims, GgmlType::f16, std::move(bytes));
  }
  return w;
}

struct BadModel {
  std::string name;
  std::function<GgufWriter()> make;
  std::string message;  ///< a fragment every command's error must hold
};

std::vector<BadModel> bad_models() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto patched = [](std::function<void(GgufWriter&)> patch) {
    return [patch] {
      GgufWriter w = make_random_model(tiny());
      patch(w);
      return w;
    };
  };
  return {
      // 2^26 + 1 heads of 64: the query width is 2^32 + 64, which a 32-bit product wraps to 64, the
      // width of the file's matrices.
      {"q_dim_wraps", patched([](GgufWriter& w) {
         w.set_u32("llama.attention.head_count", (1u << 26) + 1);
         w.set_u32("llama.attention.key_length", 64);
       }),
       "query width"},
      {"tokenizer_smaller_than_embedding", patched([](GgufWriter& w) {
         const auto f = GgufFile::from_bytes(w.to_bytes());
         auto tokens = f.get_string_array("tokenizer.ggml.tokens");
         auto scores = f.get_f32_array("tokenizer.ggml.scores");
         auto types = f.get_i32_array("tokenizer.ggml.token_type");
         tokens.resize(tokens.size() - 20);
         scores.resize(tokens.size());
         types.resize(tokens.size());
         w.set_string_array("tokenizer.ggml.tokens", tokens);
         w.set_f32_array("tokenizer.ggml.scores", scores);
         w.set_i32_array("tokenizer.ggml.token_type", types);
       }),
       "the tokenizer has 280 tokens"},
      {"f16_norms",
       [] {
         return with_f16_tensors(make_random_model(tiny()),
                                 [](const std::string& n) { return n.find("norm") != std::string::npos; });
       },
       "must be F32"},
      {"nan_epsilon",
       patched([nan](GgufWriter& w) { w.set_f32("llama.attention.layer_norm_rms_epsilon", nan); }),
       "layer_norm_rms_epsilon"},
      {"negative_epsilon",
       patched([](GgufWriter& w) { w.set_f32("llama.attention.layer_norm_rms_epsilon", -1e-5f); }),
       "layer_norm_rms_epsilon"},
      {"nan_rope_base", patched([nan](GgufWriter& w) { w.set_f32("llama.rope.freq_base", nan); }),
       "rope.freq_base"},
      {"negative_rope_base", patched([](GgufWriter& w) { w.set_f32("llama.rope.freq_base", -10000.0f); }),
       "rope.freq_base"},
      {"huge_block_count", patched([](GgufWriter& w) { w.set_u32("llama.block_count", 0xFFFFFFFFu); }),
       "block_count 4294967295"},
      {"head_dim_beyond_the_kernel",
       patched([](GgufWriter& w) { w.set_u32("llama.attention.key_length", 1024); }), "head dimension 1024"},
  };
}

class CliModelChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch_.path();
    traces_ = (dir_ / "t.jsonl").string();
    std::ofstream(traces_) << R"({"task": "t", "messages": [{"role": "user", "content": "a"}, )"
                              R"({"role": "assistant", "content": "b"}]})"
                           << "\n";
  }

  // Every command that reads a model, with the model's path in place of %M.
  std::vector<std::string> commands() const {
    return {"model-info -m %M",
            "model-info --json -m %M",
            "tokenize -m %M hello",
            "run -m %M -p hi -n 2",
            "run -m %M --chat hi -n 2",
            "ask -m %M --store " + (dir_ / "store").string() + " --save q",
            "eval -m %M --limit 1",
            "log add --store " + (dir_ / "store").string() + " -m %M --trace " + traces_};
  }

  /// `parseable`: model-info describes the file and exits 0 (lagvk cannot run it, but it is a GGUF
  /// file); otherwise it too exits 1.
  void expect_every_command_refuses(const std::string& model, const std::string& message,
                                    bool parseable) const {
    for (std::string command : commands()) {
      command.replace(command.find("%M"), 2, model);
      const auto r = run_lagvk(command);
      const bool described = parseable && command.rfind("model-info", 0) == 0;
      EXPECT_EQ(r.status, described ? 0 : 1) << command << "\n" << r.out;
      const bool json = command.find("--json") != std::string::npos;
      const char* verdict = !described ? "error: "
                            : json     ? "\"runnable\": false"
                                       : "lagvk cannot run this file yet";
      EXPECT_NE(r.out.find(verdict), std::string::npos) << command << "\n" << r.out;
      EXPECT_NE(r.out.find(message), std::string::npos) << command << "\n" << r.out;
      EXPECT_EQ(r.out.find("checks:        passed"), std::string::npos) << command << "\n" << r.out;
      EXPECT_EQ(r.out.find("internal"), std::string::npos) << command << "\n" << r.out;
    }
    EXPECT_FALSE(fs::exists(dir_ / "store" / "data.mdb")) << "a refused model must leave no store";
  }

  const test::ScratchDir scratch_{"model_checks"};
  fs::path dir_;
  std::string traces_;
};

TEST_F(CliModelChecks, EveryCommandRefusesTheSameCraftedModels) {
  for (const auto& bad : bad_models()) {
    SCOPED_TRACE(bad.name);
    const std::string path = (dir_ / (bad.name + ".gguf")).string();
    bad.make().write(path);
    expect_every_command_refuses(path, bad.message, true);
  }
}

TEST_F(CliModelChecks, TheUnpatchedModelPasses) {
  const std::string path = (dir_ / "good.gguf").string();
  make_random_model(tiny()).write(path);
  const auto r = run_lagvk("model-info -m " + path);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("checks:        passed"), std::string::npos) << r.out;
  EXPECT_EQ(with_f16_tensors(make_random_model(tiny()), [](const std::string&) { return false; }).to_bytes(),
            make_random_model(tiny()).to_bytes())
      << "the F16 rewrite copies a file exactly when it converts nothing";
}

TEST_F(CliModelChecks, ATruncatedHeaderSaysTruncated) {
  const auto bytes = make_random_model(tiny()).to_bytes();
  const std::string path = (dir_ / "cut.gguf").string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), 200);
  expect_every_command_refuses(path, "is truncated (it ends at byte 200)", false);
}

// `timeout` turns a hang into exit 124, which the status check catches.
test::CliResult run_with_timeout(const std::string& args) {
  const std::string cmd = "timeout 20 " + test::lagvk_binary() + " " + args + " 2>&1";
  test::CliResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) r.out.append(buf, n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

TEST_F(CliModelChecks, DirectoriesAndFifosAreRefusedWithoutBlocking) {
  const std::string model = (dir_ / "good.gguf").string();
  make_random_model(tiny()).write(model);
  const std::string fifo = (dir_ / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string directory = (dir_ / "adir").string();
  fs::create_directories(directory);
  for (const auto& [path, what] :
       {std::pair<std::string, std::string>{fifo, "is a FIFO (named pipe)"}, {directory, "is a directory"}}) {
    for (const std::string& command :
         {"model-info -m " + path, "run -m " + path + " -p hi", "tokenize -m " + path + " hi",
          "ask -m " + path + " --store " + (dir_ / "s").string() + " q", "eval -m " + path,
          "tokenize -m " + model + " --traces " + path,
          "log add --store " + (dir_ / "s").string() + " -m " + model + " --trace " + path,
          "ask -m " + model + " --store " + (dir_ / "s").string() + " --save --agent --kb " + path + " q",
          "make-model -o " + (dir_ / "w.gguf").string() + " --words " + path,
          "make-model -o " + (dir_ / "w.gguf").string() + " --vocab " + path}) {
      const auto r = run_with_timeout(command);
      EXPECT_EQ(r.status, 1) << command << "\n" << r.out;
      EXPECT_NE(r.out.find("'" + path + "' " + what), std::string::npos) << command << "\n" << r.out;
    }
  }
}

}  // namespace
}  // namespace lagvk
