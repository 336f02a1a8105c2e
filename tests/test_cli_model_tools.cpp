// make-model, model-info and tokenize end to end, one table per command: every flag runs, and what it
// asks for is what the written file holds (model-info and the GGUF reader check it, not the writer's
// own report).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/models.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/trained_weights_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using test::CliCase;
using test::JsonType;
using test::kExitError;
using test::kExitOk;

class CliModelTools : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(test::lagvk_binary())) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
    scratch_.emplace("cli_model_tools");
    dir_ = scratch_->path();
    values_ = {{"dir", dir_.string()}};
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// model-info --json of a file that passes the checks.
  nlohmann::json info(const std::string& file) {
    return test::run_case({"model-info " + file,
                           "model-info --json -m " + file,
                           kExitOk,
                           {},
                           {{"/architecture", JsonType::string}, {"/valid", JsonType::boolean}}})
        .json;
  }

  std::optional<test::ScratchDir> scratch_;
  fs::path dir_;
  test::Placeholders values_;
};

TEST_F(CliModelTools, MakeModelWritesTheShapeAndOptionsAsked) {
  test::run_case(
      {"every shape flag",
       "make-model --output {dir}/a.gguf --arch llama --type f16 --layers 1 --dim 64 --heads 2 "
       "--kv-heads 1 --ff 128 --vocab 300 --ctx 256 --seed 5 --rope-base 50000 --logit-std 4 --tied "
       "--rope-factors --name tiny-test",
       kExitOk,
       {"wrote " + path("a.gguf") +
        ": llama, 1 layer, dim 64, 2/1 heads, ff 128, vocab 300, F16, tied output, rope factors"}},
      values_);
  const auto j = info(path("a.gguf"));
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["name"], "tiny-test");
  EXPECT_EQ(j["valid"], true) << j.dump(2);
  const auto& h = j["hparams"];
  EXPECT_EQ(h["block_count"], 1);
  EXPECT_EQ(h["embedding_length"], 64);
  EXPECT_EQ(h["head_count"], 2);
  EXPECT_EQ(h["head_count_kv"], 1);
  EXPECT_EQ(h["feed_forward_length"], 128);
  EXPECT_EQ(h["vocab_size"], 300);
  EXPECT_EQ(h["context_length"], 256);
  EXPECT_EQ(h["rope_freq_base"], 50000.0);
  EXPECT_EQ(h["tied_output"], true);
  EXPECT_EQ(h["rope_freqs"], true);
  EXPECT_TRUE(j["tensor_types"].contains("F16")) << j.dump(2);

  // The seed decides the weights: the same seed writes the same bytes, another seed other bytes.
  const std::string shape = "--layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 --logit-std 4 ";
  test::run_cases({{"seed 5", "make-model " + shape + "--seed 5 -o {dir}/s5.gguf", kExitOk, {"wrote"}},
                   {"seed 5 again", "make-model " + shape + "--seed 5 -o {dir}/s5b.gguf", kExitOk, {"wrote"}},
                   {"seed 6", "make-model " + shape + "--seed 6 -o {dir}/s6.gguf", kExitOk, {"wrote"}}},
                  values_);
  const auto bytes = [this](const std::string& name) {
    std::ifstream in(path(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes("s5.gguf"), bytes("s5b.gguf"));
  EXPECT_NE(bytes("s5.gguf"), bytes("s6.gguf"));
}

// --type takes every format the traits table (engine/model/weight_types.def) marks writable, and the
// file holds that type; an unknown type's message lists exactly those formats.
TEST_F(CliModelTools, MakeModelWritesEveryWritableType) {
  std::string listed;
  for (const GgmlTypeInfo& t : kGgmlTypes) {
    if (!t.writable) continue;
    const std::string lower(t.lower_name), file = "t_" + lower + ".gguf";
    const std::size_t dim = std::max<std::size_t>(64, t.block_size);  // a whole number of blocks
    test::run_case({"--type " + lower,
                    fmt::format("make-model --type {} --layers 1 --dim {} --heads 2 --kv-heads 1 --ff {} -o "
                                "{{dir}}/{}",
                                lower, dim, dim, file),
                    kExitOk,
                    {", " + std::string(t.name)}},
                   values_);
    const auto j = info(path(file));
    EXPECT_EQ(j["valid"], true) << j.dump(2);
    EXPECT_TRUE(j["tensor_types"].contains(std::string(t.name))) << j.dump(2);
    listed += (listed.empty() ? "" : ", ") + lower;
  }
  test::run_case({"unknown --type",
                  "make-model --type q3_k_m -o {dir}/x.gguf",
                  kExitError,
                  {"error: lagvk make-model: unknown --type 'q3_k_m' (use one of " + listed + ")"}},
                 values_);
}

TEST_F(CliModelTools, ArchQwenGivesAQwenModel) {
  for (const std::string arch : {"qwen2", "qwen3"}) {
    test::run_case({"--arch " + arch,
                    "make-model --arch " + arch +
                        " --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 -o {dir}/" + arch + ".gguf",
                    kExitOk,
                    {": " + arch + ", 1 layer,"}},
                   values_);
    const auto j = test::run_case({"model-info --metadata --json",
                                   "model-info --metadata --json --model {dir}/" + arch + ".gguf",
                                   kExitOk,
                                   {},
                                   {{"/metadata", JsonType::object}}},
                                  values_)
                       .json;
    EXPECT_EQ(j["architecture"], arch);
    EXPECT_EQ(j["valid"], true) << j.dump(2);
    // The hyper-parameters are written under the architecture's own prefix.
    EXPECT_EQ(j["metadata"][arch + ".block_count"], 1) << j.dump(2);
    EXPECT_FALSE(j["metadata"].contains("llama.block_count")) << j.dump(2);
  }
  // Qwen2 has biases on q, k and v; Qwen3 normalises q and k instead: the file holds those tensors.
  const auto qwen2 = GgufFile::open(path("qwen2.gguf"));
  EXPECT_NE(qwen2.find_tensor("blk.0.attn_q.bias"), nullptr);
  EXPECT_EQ(qwen2.find_tensor("blk.0.attn_q_norm.weight"), nullptr);
  const auto qwen3 = GgufFile::open(path("qwen3.gguf"));
  EXPECT_NE(qwen3.find_tensor("blk.0.attn_q_norm.weight"), nullptr);
  test::run_case({"unknown arch",
                  "make-model --arch mistral -o {dir}/m.gguf",
                  kExitError,
                  {"error: model architecture 'mistral' is not supported"}},
                 values_);
  EXPECT_FALSE(fs::exists(path("m.gguf")));
}

TEST_F(CliModelTools, ModelInfoMetadataListsTheKeysMakeModelWrote) {
  test::run_case({"make",
                  "make-model --layers 2 --dim 64 --heads 4 --kv-heads 2 --ff 96 --vocab 300 --name "
                  "meta-test -o {dir}/m.gguf",
                  kExitOk,
                  {"wrote"}},
                 values_);
  const auto j = test::run_case({"json",
                                 "model-info -m {dir}/m.gguf --json --metadata",
                                 kExitOk,
                                 {},
                                 {{"/metadata", JsonType::object},
                                  {"/metadata/general.architecture", JsonType::string},
                                  {"/metadata/general.name", JsonType::string},
                                  {"/metadata/llama.block_count", JsonType::integer},
                                  {"/metadata/llama.feed_forward_length", JsonType::integer},
                                  {"/metadata/llama.attention.head_count_kv", JsonType::integer},
                                  {"/metadata/tokenizer.ggml.model", JsonType::string},
                                  {"/metadata/tokenizer.ggml.tokens", JsonType::string},
                                  {"/tokenizer/vocab_size", JsonType::integer},
                                  {"/hparams", JsonType::object}}},
                                values_)
                     .json;
  const auto& m = j["metadata"];
  EXPECT_EQ(m["general.name"], "meta-test");
  EXPECT_EQ(m["llama.block_count"], 2);
  EXPECT_EQ(m["llama.feed_forward_length"], 96);
  EXPECT_EQ(m["llama.attention.head_count_kv"], 2);
  // Every key of the file is listed, no more.
  EXPECT_EQ(m.size(), GgufFile::open(path("m.gguf")).metadata().size());
  // Without --metadata there is no list.
  const auto plain = test::run_case({"no --metadata",
                                     "model-info --json -m {dir}/m.gguf",
                                     kExitOk,
                                     {},
                                     {{"/hparams/block_count", JsonType::integer}}},
                                    values_);
  EXPECT_FALSE(plain.json.contains("metadata"));
  test::run_case({"text --metadata",
                  "model-info --model {dir}/m.gguf --metadata",
                  kExitOk,
                  {"architecture:  llama  name: meta-test", "layers:        2", "checks:        passed",
                   "  general.name = \"meta-test\"", "  llama.block_count = 2",
                   "  tokenizer.ggml.tokens = [300 x string]"}},
                 values_);
  test::run_case(
      {"text", "model-info -m {dir}/m.gguf", kExitOk, {"checks:        passed"}, {}, {"general.name ="}},
      values_);
  test::run_case({"missing -m",
                  "model-info --json",
                  kExitError,
                  {"error: lagvk model-info: give the model with -m FILE"}});
}

TEST_F(CliModelTools, MakeModelShapeErrorsNameTheFlags) {
  // The library says which size is wrong in its own words; the command adds the flags that set them.
  const std::string flags =
      "(--layers, --dim, --heads, --kv-heads, --ff, --ctx, --vocab and --type set them)";
  test::run_cases(
      {{"dim not a multiple of heads",
        "make-model --dim 30 --heads 4 --kv-heads 1 -o {dir}/x.gguf",
        kExitError,
        {"error: lagvk make-model: a random model's dimension 30 must be a multiple of its heads 4", flags}},
       {"heads not a multiple of kv heads",
        "make-model --dim 64 --heads 4 --kv-heads 3 -o {dir}/x.gguf",
        kExitError,
        {"error: lagvk make-model: a random model's heads 4 must be a multiple of its kv heads 3", flags}},
       {"vocab too small",
        "make-model --vocab 100 -o {dir}/x.gguf",
        kExitError,
        {"error: lagvk make-model: a random model's vocabulary of 100 tokens is too small", flags}},
       {"dim not a block multiple",
        "make-model --type q8_0 --dim 48 --heads 2 --kv-heads 1 --ff 64 -o {dir}/x.gguf",
        kExitError,
        {"error: lagvk make-model: with weight type Q8_0 a random model's dimension (48)", flags}}},
      values_);
  EXPECT_FALSE(fs::exists(path("x.gguf")));
}

TEST(RandomModelSpec, BadSizesAreInvalidArgumentsThatNameNoFlag) {
  const auto with = [](auto change) {
    RandomModelSpec s = test::small_model_spec(GgmlType::f32, 1);
    change(s);
    return s;
  };
  const std::vector<std::pair<std::string, RandomModelSpec>> bad = {
      {"no layers", with([](RandomModelSpec& s) { s.n_layers = 0; })},
      {"dim vs heads", with([](RandomModelSpec& s) { s.n_embd = s.n_head * 2 + 1; })},
      {"odd head dim", with([](RandomModelSpec& s) { s.n_embd = s.n_head * 3; })},
      {"heads vs kv heads", with([](RandomModelSpec& s) { s.n_head_kv = s.n_head + 1; })},
      {"type", with([](RandomModelSpec& s) {
         s.type = GgmlType::q6_k;
         s.n_embd = 32;
         s.n_ff = 32;
       })},
      {"vocab", with([](RandomModelSpec& s) { s.n_vocab = 259; })},
  };
  for (const auto& [name, spec] : bad) {
    SCOPED_TRACE(name);
    try {
      validate(spec);
      ADD_FAILURE() << "the spec passed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument) << e.what();
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos)
          << "a library message names a flag: " << e.what();
    }
  }
}

// A vocabulary of whole words: each word (after a space) is one token, and its pieces spell it.
TEST_F(CliModelTools, MakeModelWordsGivesWholeWordTokens) {
  std::ofstream(path("words.txt")) << "\xe2\x96\x81"
                                      "harbor\n\xe2\x96\x81"
                                      "glass\n\xe2\x96\x81"
                                      "director\n";
  test::run_case({"--words",
                  "make-model --words {dir}/words.txt --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 -o "
                  "{dir}/w.gguf",
                  kExitOk,
                  {"wrote"}},
                 values_);
  const auto r = test::run_case({"pieces",
                                 "tokenize -m {dir}/w.gguf --pieces the glass harbor",
                                 kExitOk,
                                 {"\t\"\xe2\x96\x81glass\"\n", "\t\"\xe2\x96\x81harbor\"\n"}},
                                values_);
  std::ofstream(path("empty.txt")) << "\n";
  test::run_case({"empty word list",
                  "make-model --words {dir}/empty.txt -o {dir}/e.gguf",
                  kExitError,
                  {"error: lagvk make-model: the word list '" + path("empty.txt") + "' is empty"}},
                 values_);
}

/// Trained weights (tests/support/trained_weights_dir.hpp) for a tied llama of 1 layer, width 32, 2 heads
/// over 1 KV head, feed-forward 48, context 128 and the given vocabulary; values sin(0.37 offset) / 2.
void write_weights(const fs::path& dir, std::uint32_t vocab) {
  RandomModelSpec spec;
  spec.n_layers = 1;
  spec.n_embd = 32;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 48;
  spec.n_vocab = vocab;
  spec.n_ctx = 128;
  test::write_trained_weights(dir, spec, [](const std::string&, std::uint64_t, std::uint64_t offset) {
    return std::sin(float(offset) * 0.37f) * 0.5f;
  });
}

TEST_F(CliModelTools, MakeModelWeightsWritesTheTrainedValues) {
  write_weights(dir_ / "weights", 300);
  test::run_case({"--weights",
                  "make-model --weights {dir}/weights --type f32 -o {dir}/t.gguf",
                  kExitOk,
                  {": llama, 1 layer, dim 32, 2/1 heads, ff 48, vocab 300, F32, tied output"}},
                 values_);
  const auto j = info(path("t.gguf"));
  EXPECT_EQ(j["valid"], true) << j.dump(2);
  EXPECT_EQ(j["hparams"]["context_length"], 128);
  // The file holds the trained values, not random ones.
  const auto file = GgufFile::open(path("t.gguf"));
  const auto* q = file.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  const auto* got = reinterpret_cast<const float*>(file.tensor_data(*q).data());
  std::ifstream meta(dir_ / "weights" / "weights.json");
  const auto offset =
      nlohmann::json::parse(meta)["tensors"]["blk.0.attn_q.weight"]["offset"].get<std::size_t>() / 4;
  for (std::size_t i = 0; i < 32 * 32; ++i)
    ASSERT_EQ(got[i], std::sin(float(offset + i) * 0.37f) * 0.5f) << i;

  // The shape comes from weights.json: shape flags are refused; --words must match the trained vocabulary.
  test::run_case(
      {"--weights with --layers",
       "make-model --weights {dir}/weights --layers 2 -o {dir}/x.gguf",
       kExitError,
       {"error: lagvk make-model: --layers comes from " + path("weights") + "/weights.json with --weights"}},
      values_);
  std::ofstream(path("words.txt")) << "\xe2\x96\x81one\n";
  test::run_case({"--weights with other --words",
                  "make-model --weights {dir}/weights --words {dir}/words.txt -o {dir}/x.gguf",
                  kExitError,
                  {"error: lagvk make-model: the weights were trained for 300 tokens but --words gives"}},
                 values_);
  test::run_case({"--weights missing",
                  "make-model --weights {dir}/none -o {dir}/x.gguf",
                  kExitError,
                  {"error: ", path("none")}},
                 values_);
  EXPECT_FALSE(fs::exists(path("x.gguf")));
}

/// GPT-2's byte-to-character map: printable bytes stand for themselves, the rest for 256 + n.
std::string byte_char(unsigned b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  unsigned code = b;
  if (!printable) {
    unsigned n = 0;
    for (unsigned x = 0; x < b; ++x) n += !((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174);
    code = 256 + n;
  }
  std::string s;
  if (code < 0x80) {
    s += char(code);
  } else {
    s += char(0xC0 | (code >> 6));
    s += char(0x80 | (code & 0x3F));
  }
  return s;
}

/// A byte-level BPE tokenizer.json with no pre-tokenizer (so its name must be given with --pre).
void write_tokenizer_json(const fs::path& path) {
  nlohmann::json vocab = nlohmann::json::object();
  for (unsigned b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  const std::string sp = byte_char(' ');
  const std::vector<std::pair<std::string, std::string>> merges = {{sp, "t"},  {"h", "e"}, {sp + "t", "he"},
                                                                   {"a", "b"}, {"c", "d"}, {"ab", "cd"}};
  nlohmann::json m = nlohmann::json::array();
  unsigned id = 256;
  for (const auto& [l, r] : merges) {
    vocab[l + r] = id++;
    m.push_back(l + " " + r);
  }
  const nlohmann::json j{
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}}},
      {"added_tokens", nlohmann::json::array({{{"id", id}, {"content", "<|end|>"}, {"special", true}}})}};
  std::ofstream(path) << j.dump();
}

TEST_F(CliModelTools, MakeModelPreNamesTheBpePreTokenizer) {
  write_tokenizer_json(dir_ / "tokenizer.json");
  const std::string shape = "--layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 ";
  test::run_case({"no regex, no --pre",
                  "make-model " + shape + "--vocab {dir}/tokenizer.json -o {dir}/x.gguf",
                  kExitError,
                  {"error: ", "name it explicitly"}},
                 values_);
  for (const std::string pre : {"qwen2", "llama-bpe"}) {
    test::run_case(
        {"--pre " + pre,
         "make-model " + shape + "--vocab {dir}/tokenizer.json --pre " + pre + " -o {dir}/" + pre + ".gguf",
         kExitOk,
         {"vocab 263 (" + pre + " BPE)"}},
        values_);
    const auto j = info(path(pre + ".gguf"));
    EXPECT_EQ(j["valid"], true) << j.dump(2);
    EXPECT_EQ(j["tokenizer"]["model"], "gpt2");
    EXPECT_EQ(j["tokenizer"]["pre"], pre);
    EXPECT_EQ(j["tokenizer"]["vocab_size"], 263);
  }
  // The merges apply: " the" is one token, "abcd" one token; the added special token is parsed only with
  // --special.
  const auto ids = test::run_case({"bpe tokenize",
                                   "tokenize -m {dir}/qwen2.gguf --json a the abcd",
                                   kExitOk,
                                   {},
                                   {{"", JsonType::array}}},
                                  values_)
                       .json;
  EXPECT_EQ(ids, nlohmann::json::parse("[97, 258, 32, 261]")) << "a, \" the\", \" \", abcd";
  const auto end = test::run_case({"bpe special",
                                   "tokenize -m {dir}/qwen2.gguf --special --json '<|end|>'",
                                   kExitOk,
                                   {},
                                   {{"", JsonType::array}}},
                                  values_)
                       .json;
  EXPECT_EQ(end, nlohmann::json::parse("[262]"));
  test::run_case({"--pre without a tokenizer.json",
                  "make-model --pre qwen2 -o {dir}/x.gguf",
                  kExitError,
                  {"error: lagvk make-model: --pre needs --vocab tokenizer.json"}},
                 values_);
}

TEST_F(CliModelTools, TokenizeFlags) {
  test::run_case(
      {"make",
       "make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 400 -o {dir}/m.gguf",
       kExitOk,
       {"wrote"}},
      values_);
  const std::string text = "the glass harbor 42";
  const auto json = test::run_case({"--json",
                                    "tokenize --json -m {dir}/m.gguf the glass harbor 42",
                                    kExitOk,
                                    {},
                                    {{"", JsonType::array}, {"/0", JsonType::integer}}},
                                   values_)
                        .json;
  ASSERT_TRUE(json.is_array());
  // The plain output is the same ids, space-separated.
  std::string line;
  for (const auto& id : json) line += (line.empty() ? "" : " ") + std::to_string(id.get<int>());
  test::run_case({"plain", "tokenize --model {dir}/m.gguf 'the glass harbor 42'", kExitOk, {line + "\n"}},
                 values_);

  // --pieces: one 'id<TAB>"piece"' line per token, and the pieces spell the text (U+2581 for a space).
  const auto pieces = test::run_case(
      {"--pieces", "tokenize -m {dir}/m.gguf --pieces the glass harbor 42", kExitOk, {}}, values_);
  std::istringstream in(pieces.run.out);
  std::string spelled, row;
  std::size_t rows = 0;
  while (std::getline(in, row)) {
    const auto tab = row.find('\t');
    ASSERT_NE(tab, std::string::npos) << row;
    EXPECT_EQ(std::stoi(row.substr(0, tab)), json[rows].get<int>()) << row;
    spelled += nlohmann::json::parse(row.substr(tab + 1)).get<std::string>();
    ++rows;
  }
  EXPECT_EQ(rows, json.size());
  for (auto at = spelled.find("\xe2\x96\x81"); at != std::string::npos; at = spelled.find("\xe2\x96\x81"))
    spelled.replace(at, 3, " ");
  EXPECT_EQ(spelled, " " + text) << "SentencePiece's dummy prefix, then the text";

  // --bos prepends the BOS id model-info reports; --special parses "<s>" as that token, text otherwise.
  const int bos = info(path("m.gguf"))["tokenizer"]["bos"].get<int>();
  const auto with_bos = test::run_case({"--bos",
                                        "tokenize -m {dir}/m.gguf --bos --json the glass harbor 42",
                                        kExitOk,
                                        {},
                                        {{"/0", JsonType::integer}}},
                                       values_)
                            .json;
  nlohmann::json expected = nlohmann::json::array({bos});
  for (const auto& id : json) expected.push_back(id);
  EXPECT_EQ(with_bos, expected);
  const auto special = test::run_case({"--special",
                                       "tokenize -m {dir}/m.gguf --special --json '<s>'",
                                       kExitOk,
                                       {},
                                       {{"", JsonType::array}}},
                                      values_)
                           .json;
  EXPECT_EQ(special, nlohmann::json::array({bos}));
  const auto literal =
      test::run_case(
          {"no --special", "tokenize -m {dir}/m.gguf --json '<s>'", kExitOk, {}, {{"", JsonType::array}}},
          values_)
          .json;
  EXPECT_GT(literal.size(), 1u) << "without --special '<s>' is text";

  // --traces: one JSON line per trace, the selections' indices inside the tokens.
  std::ofstream(path("traces.jsonl"))
      << R"({"task": "who directed the glass harbor", "messages": [{"role": "user", "content": "who directed the glass harbor"}, {"role": "assistant", "content": "mara ellison"}]})"
      << "\n"
      << R"({"task": "t2", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})"
      << "\n";
  const auto traces = test::run_case(
      {"--traces", "tokenize -m {dir}/m.gguf --traces {dir}/traces.jsonl", kExitOk, {}}, values_);
  std::istringstream lines(traces.run.out);
  std::size_t n = 0;
  for (std::string l; std::getline(lines, l); ++n) {
    const auto j = nlohmann::json::parse(l);
    const auto tokens = j["tokens"].size();
    ASSERT_GT(tokens, 0u);
    ASSERT_FALSE(j["last"].empty());
    for (const auto& i : j["last"]) EXPECT_LT(i.get<std::size_t>(), tokens);
    for (const auto& i : j["all"]) EXPECT_LT(i.get<std::size_t>(), tokens);
    // The last response is among all responses.
    for (const auto& i : j["last"]) EXPECT_NE(std::find(j["all"].begin(), j["all"].end(), i), j["all"].end());
    if (n == 1) {
      EXPECT_GT(j["all"].size(), j["last"].size()) << l;
    }
  }
  EXPECT_EQ(n, 2u);
  test::run_cases(
      {{"no text",
        "tokenize -m {dir}/m.gguf",
        kExitError,
        {"error: lagvk tokenize: give the text to tokenize"}},
       {"no model", "tokenize hello", kExitError, {"error: lagvk tokenize: give the model with -m FILE"}}},
      values_);
}

}  // namespace
}  // namespace lagvk
