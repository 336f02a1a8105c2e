// `lagvk model-info` on files lagvk can parse but not run: it describes them (architecture, the
// hyper-parameters the file states, every tensor's name, type and shape), lists what lagvk cannot run
// and why, names the conversion command where re-quantizing is the fix, and exits 0; a file it cannot
// parse (truncated in its tensor data) is described as far as it was read and exits 1.
#include <gtest/gtest.h>

#include "tests/support/cli.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/quant.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gguf_ref.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::run_lagvk;

constexpr std::uint32_t kIq2XxsId = 16;  // ggml's id of IQ2_XXS, a type lagvk cannot decode

RandomModelSpec tiny(GgmlType type = GgmlType::f32) {
  RandomModelSpec s;
  s.type = type;
  s.n_layers = 2;
  s.n_embd = 256;  // a whole 256-element block per row, as the K-quant and IQ types need
  s.n_head = 2;
  s.n_head_kv = 1;
  s.n_ff = 512;
  s.n_vocab = 300;
  s.n_ctx = 128;
  return s;
}

/// A copy of `original` with metadata keys renamed by `rename` ("" drops a key) and the tensors `keep`
/// accepts.
GgufWriter rewritten(const GgufWriter& original, const std::function<std::string(const std::string&)>& rename,
                     const std::function<bool(const std::string&)>& keep) {
  const auto file = GgufFile::from_bytes(original.to_bytes());
  GgufWriter w;
  for (const auto& [key, value] : file.metadata()) {
    const auto renamed = key == "general.alignment" ? std::string() : rename(key);
    if (!renamed.empty()) w.set(renamed, value);
  }
  for (const auto& t : file.tensors()) {
    if (!keep(t.name)) continue;
    const auto data = file.tensor_data(t);
    w.add_tensor(t.name, t.dims, t.type, std::vector<std::uint8_t>(data.begin(), data.end()));
  }
  return w;
}

/// Sets the ggml type id of the tensor `name` in a GGUF image (its info: u64 name length, the name,
/// u32 dimension count, u64 dims, u32 type).
void patch_tensor_type(std::vector<std::uint8_t>& bytes, const std::string& name, std::uint32_t type_id) {
  std::vector<std::uint8_t> needle(8);
  const std::uint64_t length = name.size();
  std::memcpy(needle.data(), &length, 8);
  needle.insert(needle.end(), name.begin(), name.end());
  const auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  ASSERT_NE(it, bytes.end()) << name;
  const std::size_t dims_at = std::size_t(it - bytes.begin()) + needle.size();
  std::uint32_t n_dims = 0;
  std::memcpy(&n_dims, &bytes[dims_at], 4);
  std::memcpy(&bytes[dims_at + 4 + 8 * std::size_t(n_dims)], &type_id, 4);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes, std::size_t size) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(size));
}

const json* tensor_named(const json& info, const std::string& name) {
  for (const auto& t : info["tensors"])
    if (t["name"] == name) return &t;
  return nullptr;
}

class CliModelInfo : public ::testing::Test {
 protected:
  /// model-info --json of a file it can parse: exit 0 and the JSON it prints.
  json info_json(const fs::path& model) const {
    const auto r = run_lagvk("model-info --json -m " + model.string(), false);
    EXPECT_EQ(r.status, 0) << r.out;
    return json::parse(r.out);
  }
  /// model-info in text (with --tensors): exit 0 and its output.
  std::string info_text(const fs::path& model) const {
    const auto r = run_lagvk("model-info --tensors -m " + model.string());
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
    return r.out;
  }
  /// The one limitation of the file, of this kind.
  static json only_limitation(const json& info, const std::string& kind) {
    EXPECT_FALSE(info["runnable"].get<bool>()) << info.dump(2);
    EXPECT_EQ(info["unsupported"].size(), 1u) << info.dump(2);
    const json u = info["unsupported"].empty() ? json::object() : info["unsupported"][0];
    EXPECT_EQ(u.value("kind", ""), kind) << info.dump(2);
    return u;
  }

  const test::ScratchDir scratch_{"model_info"};
  fs::path dir_ = scratch_.path();
};

TEST(ModelInfoTypes, EveryBlockLayoutMatchesGgufPy) {
  if (!test::gguf_ref_available()) LAGVK_REFERENCE_MISSING(test::gguf_ref_unavailable_reason());
  int foreign = 0;
  for (std::uint32_t id = 0; id < 64; ++id) {
    const auto layout = ggml_block_layout(id);
    if (!layout) continue;
    SCOPED_TRACE(ggml_type_name(id));
    foreign += ggml_type_info(id) ? 0 : 1;
    const auto theirs = test::gguf_ref_type_traits(ggml_type_name(id));
    EXPECT_EQ(theirs.id, id);
    EXPECT_EQ(layout->block_size, theirs.block_elements);
    EXPECT_EQ(layout->bytes_per_block, theirs.block_bytes);
  }
  EXPECT_GE(foreign, 10) << "the IQ, TQ, integer and F64 types lagvk cannot decode have layouts";
  EXPECT_TRUE(ggml_block_layout(kIq2XxsId).has_value());
}

TEST_F(CliModelInfo, DescribesAnIq2XxsTensorAndNamesTheConversion) {
  auto bytes = make_random_model(tiny(GgmlType::q2_k)).to_bytes();
  // IQ2_XXS blocks (66 bytes) are smaller than Q2_K's (84): the patched tensors stay inside the file.
  patch_tensor_type(bytes, "blk.0.attn_q.weight", kIq2XxsId);
  patch_tensor_type(bytes, "blk.1.ffn_up.weight", kIq2XxsId);
  const auto model = dir_ / "iq2.gguf";
  write_bytes(model, bytes, bytes.size());

  const auto info = info_json(model);
  const auto u = only_limitation(info, "tensor_type");
  EXPECT_EQ(u["type"], "IQ2_XXS");
  EXPECT_EQ(u["tensors"], json({"blk.0.attn_q.weight", "blk.1.ffn_up.weight"}));
  EXPECT_NE(u["reason"].get<std::string>().find("Q4_K"), std::string::npos) << "names the types lagvk runs";
  EXPECT_EQ(info["convert"], "llama-quantize --allow-requantize " + model.string() + " " +
                                 (dir_ / "iq2-Q4_K_M.gguf").string() + " Q4_K_M");
  EXPECT_EQ(info["convert_tool"], "llama.cpp");
  // lagvk's own quantizer cannot decode the type: said plainly, with the better way from a float original.
  const std::string note = info["convert_note"];
  for (const std::string fragment : {"lagvk quantize cannot convert this file", "cannot decode IQ2_XXS",
                                     "lagvk quantize ORIGINAL.gguf OUT.gguf q4_k_m"})
    EXPECT_NE(note.find(fragment), std::string::npos) << fragment << "\n" << note;
  EXPECT_EQ(info["tensor_count"], 2u * 9 + 3);  // nine per layer, token_embd, output_norm, output
  ASSERT_NE(tensor_named(info, "blk.0.attn_q.weight"), nullptr);
  EXPECT_EQ((*tensor_named(info, "blk.0.attn_q.weight"))["type"], "IQ2_XXS");
  EXPECT_EQ((*tensor_named(info, "blk.0.attn_q.weight"))["shape"], json({256, 256}));
  EXPECT_FALSE((*tensor_named(info, "blk.0.attn_q.weight"))["supported"].get<bool>());
  EXPECT_EQ((*tensor_named(info, "blk.0.attn_k.weight"))["type"], "Q2_K");
  EXPECT_TRUE((*tensor_named(info, "blk.0.attn_k.weight"))["supported"].get<bool>());
  EXPECT_EQ(info["tensor_types"]["IQ2_XXS"]["count"], 2);
  EXPECT_EQ(info["hparams"]["block_count"], 2) << "the architecture and hyper-parameters are still read";

  const auto text = info_text(model);
  for (const std::string fragment :
       {"lagvk cannot run this file yet", "IQ2_XXS", "convert:       llama-quantize --allow-requantize",
        "blk.0.attn_q.weight", "[256, 256]", "layers:        2"})
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment << "\n" << text;

  // The commands that run a model still refuse it, naming the type.
  const auto run = run_lagvk("tokenize -m " + model.string() + " hi");
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("IQ2_XXS"), std::string::npos) << run.out;
}

// mamba (a state-space model llama.cpp runs) is an architecture lagvk has no plan for: gemma2 and phi3,
// which lagvk is gaining, would not stay unsupported.
TEST_F(CliModelInfo, DescribesAnUnsupportedArchitectureWithItsHyperParameters) {
  const auto model = dir_ / "mamba.gguf";
  auto w = rewritten(
      make_random_model(tiny()),
      [](const std::string& key) { return key.rfind("llama.", 0) == 0 ? "mamba." + key.substr(6) : key; },
      [](const std::string&) { return true; });
  w.set_string("general.architecture", "mamba");
  w.write(model.string());

  const auto info = info_json(model);
  EXPECT_EQ(info["architecture"], "mamba");
  const auto u = only_limitation(info, "architecture");
  EXPECT_NE(u["reason"].get<std::string>().find("'mamba' is not supported"), std::string::npos) << u;
  EXPECT_TRUE(info["convert"].is_null()) << "no conversion changes an architecture";
  EXPECT_TRUE(info["convert_tool"].is_null());
  EXPECT_NE(info["convert_note"].get<std::string>().find("no conversion changes an architecture"),
            std::string::npos)
      << info["convert_note"];
  EXPECT_EQ(info["architecture_keys"]["mamba.block_count"], 2);
  EXPECT_EQ(info["architecture_keys"]["mamba.embedding_length"], 256);
  EXPECT_FALSE(info.contains("hparams"));
  EXPECT_EQ(info["tensor_count"], 2u * 9 + 3);

  const auto text = info_text(model);
  for (const std::string fragment :
       {"architecture:  mamba", "mamba.block_count = 2", "'mamba' is not supported", "convert:       none",
        "blk.1.ffn_down.weight"})
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment << "\n" << text;
}

TEST_F(CliModelInfo, DescribesAnUnknownPreTokenizer) {
  auto w = make_random_model(tiny());
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "deepseek-llm");
  const std::vector<std::string> merges = {"a b"};
  w.set_string_array("tokenizer.ggml.merges", merges);
  const auto model = dir_ / "pre.gguf";
  w.write(model.string());

  const auto info = info_json(model);
  const auto u = only_limitation(info, "tokenizer");
  EXPECT_NE(u["reason"].get<std::string>().find("pre-tokenizer 'deepseek-llm'"), std::string::npos) << u;
  EXPECT_EQ(info["tokenizer"]["pre"], "deepseek-llm");
  EXPECT_TRUE(info["convert"].is_null());
  EXPECT_EQ(info["hparams"]["embedding_length"], 256);
  const auto text = info_text(model);
  EXPECT_NE(text.find("- tokenizer: "), std::string::npos) << text;
  EXPECT_NE(text.find("deepseek-llm"), std::string::npos) << text;
}

TEST_F(CliModelInfo, DescribesAMissingTensor) {
  const auto model = dir_ / "missing.gguf";
  rewritten(
      make_random_model(tiny()), [](const std::string& key) { return key; },
      [](const std::string& name) { return name != "blk.1.ffn_down.weight"; })
      .write(model.string());
  const auto info = info_json(model);
  const auto u = only_limitation(info, "tensors");
  EXPECT_NE(u["reason"].get<std::string>().find("lacks the tensor blk.1.ffn_down.weight"), std::string::npos)
      << u;
  EXPECT_EQ(info["tensor_count"], 2u * 9 + 2);
  EXPECT_TRUE(info["convert"].is_null());
}

TEST_F(CliModelInfo, F16NormsAreConvertedByLagvkQuantizeWithTheMatricesUnchanged) {
  for (const GgmlType type : {GgmlType::f16, GgmlType::q8_0}) {
    const std::string name = ggml_type_name(type);
    const auto source = GgufFile::from_bytes(make_random_model(tiny(type)).to_bytes());
    GgufWriter w;
    for (const auto& [key, value] : source.metadata()) w.set(key, value);
    for (const auto& t : source.tensors()) {  // every norm stored as F16, as llama.cpp never writes them
      const auto data = source.tensor_data(t);
      if (t.name.find("_norm.weight") != std::string::npos)
        w.add_tensor(t.name, t.dims, GgmlType::f16,
                     quantize(GgmlType::f16, dequantize(t.type, data, std::size_t(t.n_elements))));
      else
        w.add_tensor(t.name, t.dims, t.type, std::vector<std::uint8_t>(data.begin(), data.end()));
    }
    const auto model = dir_ / ("norms-" + name + ".gguf");
    w.write(model.string());

    const auto info = info_json(model);
    const auto u = only_limitation(info, "tensors");
    EXPECT_NE(u["reason"].get<std::string>().find("must be F32"), std::string::npos) << u;
    const auto fixed = dir_ / ("norms-" + name + "-f32-vectors.gguf");
    const std::string expected = std::string("lagvk quantize ") +
                                 (type == GgmlType::q8_0 ? "--allow-requantize " : "") + model.string() +
                                 " " + fixed.string() + " " + std::string(type_info(type).lower_name);
    EXPECT_EQ(info["convert"], expected) << name;
    EXPECT_EQ(info["convert_tool"], "lagvk");
    const auto text = info_text(model);
    EXPECT_NE(text.find("convert:       " + expected), std::string::npos) << text;
    EXPECT_NE(text.find("copies the " + name + " matrices unchanged"), std::string::npos) << text;

    // The command does what model-info says: the result runs, its matrices are the same bytes.
    const auto converted = test::run_shell(test::lagvk_binary() + expected.substr(5) + " 2>&1");
    ASSERT_EQ(converted.status, 0) << converted.out;
    EXPECT_TRUE(info_json(fixed)["runnable"].get<bool>()) << name;
    const auto after = GgufFile::open(fixed.string());
    for (const auto& t : source.tensors()) {
      const auto* out = after.find_tensor(t.name);
      ASSERT_NE(out, nullptr) << t.name;
      if (t.dims.size() < 2) continue;
      const auto a = source.tensor_data(t), b = after.tensor_data(*out);
      EXPECT_TRUE(out->type == t.type && std::equal(a.begin(), a.end(), b.begin(), b.end())) << t.name;
    }
  }
}

TEST_F(CliModelInfo, ARunnableFileListsEveryTensorAndNothingUnsupported) {
  const auto model = dir_ / "good.gguf";
  make_random_model(tiny()).write(model.string());
  const auto info = info_json(model);
  EXPECT_TRUE(info["runnable"].get<bool>());
  EXPECT_TRUE(info["valid"].get<bool>());
  EXPECT_TRUE(info["unsupported"].empty());
  EXPECT_TRUE(info["convert"].is_null());
  const auto file = GgufFile::open(model.string());
  ASSERT_EQ(info["tensors"].size(), file.tensors().size());
  for (std::size_t i = 0; i < file.tensors().size(); ++i) {
    EXPECT_EQ(info["tensors"][i]["name"], file.tensors()[i].name) << "file order";
    EXPECT_EQ(info["tensors"][i]["shape"], json(file.tensors()[i].dims));
    EXPECT_TRUE(info["tensors"][i]["supported"].get<bool>());
  }
}

TEST_F(CliModelInfo, AFileTruncatedInItsTensorDataIsDescribedThenRefused) {
  const auto bytes = make_random_model(tiny()).to_bytes();
  const auto data_offset = GgufFile::from_bytes(bytes).data_offset();
  const auto model = dir_ / "cut.gguf";
  write_bytes(model, bytes, std::size_t(data_offset + (bytes.size() - data_offset) / 2));

  const auto text = run_lagvk("model-info --tensors -m " + model.string());
  EXPECT_EQ(text.status, 1) << text.out;
  for (const std::string fragment :
       {"architecture:  llama", "blk.1.ffn_down.weight", "error: ", "is truncated or corrupt", "hint: "})
    EXPECT_NE(text.out.find(fragment), std::string::npos) << fragment << "\n" << text.out;
  EXPECT_EQ(text.out.find("internal"), std::string::npos) << text.out;

  const auto r = run_lagvk("model-info --json -m " + model.string(), false);
  EXPECT_EQ(r.status, 1) << r.out;
  const auto info = json::parse(r.out);
  EXPECT_FALSE(info["runnable"].get<bool>());
  EXPECT_NE(info["damage"].get<std::string>().find("is truncated or corrupt"), std::string::npos) << info;
  EXPECT_EQ(info["tensor_count"], 2u * 9 + 3);
}

}  // namespace
}  // namespace lagvk
