// `lagvk quantize`: the type each tensor gets (llama.cpp's Q4_K_M / Q5_K_M recipes and its fallbacks for
// rows that do not fit a type's blocks), an output that gguf-py reads as the same numbers lagvk does with
// every metadata key kept, a per-tensor error no worse than gguf-py's ports of ggml's reference
// quantizers, greedy tokens llama.cpp accepts, and bad input refused with exit 1 and no partial output.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/api/engine.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/quant.hpp"
#include "engine/model/quantize.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/cli_cases.hpp"
#include "tests/support/gguf_ref.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/llama_peer.hpp"
#include "tests/support/models.hpp"
#include "tests/support/real_models.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// llama.cpp's rule for the attn_v and ffn_down layers its _M recipes store in Q6_K, written out from its
// description (the first and last eighth of the layers, and every third layer between them) rather than
// from lagvk's code: for 32 layers 0-3, 6, 9, ..., 27 and 28-31.
std::set<int> more_bits_layers(int layers) {
  std::set<int> chosen;
  for (int i = 0; i < layers / 8; ++i) chosen.insert(i);
  for (int i = 7 * layers / 8; i < layers; ++i) chosen.insert(i);
  for (int i = layers / 8 + 2; i < 7 * layers / 8; i += 3) chosen.insert(i);
  return chosen;
}

QuantizeTarget target(const std::string& name) {
  const auto t = parse_quantize_target(name);
  EXPECT_TRUE(t.has_value()) << name;
  return t.value_or(QuantizeTarget{name, GgmlType::f32, false, 0});
}

GgmlType type_for(const std::string& recipe, const std::string& name, std::vector<std::uint64_t> dims,
                  TensorPosition position = {}) {
  return choose_tensor_type(target(recipe), name, dims, GgmlType::f16, position).type;
}

TEST(QuantizeRecipe, TargetsAreTypesOrRecipesInAnyCase) {
  EXPECT_EQ(target("Q4_K_M").base, GgmlType::q4_k);
  EXPECT_TRUE(target("q4_k_m").mixture);
  EXPECT_EQ(target("q4_k_m").file_type, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(target("q5_k_m").file_type, 17u);  // LLAMA_FTYPE_MOSTLY_Q5_K_M
  EXPECT_EQ(target("q6_k").file_type, 18u);    // LLAMA_FTYPE_MOSTLY_Q6_K
  EXPECT_EQ(target("Q8_0").file_type, 7u);     // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_FALSE(target("iq4_xs").mixture);
  EXPECT_FALSE(parse_quantize_target("q4_k_l").has_value());
  EXPECT_FALSE(parse_quantize_target("iq2_xxs").has_value());
}

TEST(QuantizeRecipe, AttnVAndFfnDownOfLlamaCppsLayersGetQ6K) {
  for (const int layers : {8, 30, 32}) {
    const auto chosen = more_bits_layers(layers);
    for (int i = 0; i < layers; ++i) {
      TensorPosition p;
      p.attn_v_index = p.ffn_down_index = i;
      p.attn_v_count = p.ffn_down_count = layers;
      const std::string b = "blk." + std::to_string(i) + ".";
      const GgmlType expected = chosen.count(i) ? GgmlType::q6_k : GgmlType::q4_k;
      EXPECT_EQ(type_for("q4_k_m", b + "attn_v.weight", {256, 256}, p), expected)
          << layers << " layers, " << i;
      EXPECT_EQ(type_for("q4_k_m", b + "ffn_down.weight", {512, 256}, p), expected)
          << layers << " layers, " << i;
      EXPECT_EQ(type_for("q5_k_m", b + "ffn_down.weight", {512, 256}, p),
                chosen.count(i) ? GgmlType::q6_k : GgmlType::q5_k);
      EXPECT_EQ(type_for("q4_k_m", b + "attn_q.weight", {256, 256}, p), GgmlType::q4_k);
      EXPECT_EQ(type_for("q4_k", b + "attn_v.weight", {256, 256}, p), GgmlType::q4_k)
          << "a type alone is pure";
    }
  }
  EXPECT_EQ(more_bits_layers(32), (std::set<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
}

TEST(QuantizeRecipe, OutputFusedQkvVectorsAndEmbeddingsFollowLlamaCpp) {
  EXPECT_EQ(type_for("q4_k_m", "output.weight", {256, 300}), GgmlType::q6_k);
  EXPECT_EQ(type_for("q4_k_m", "token_embd.weight", {256, 300}), GgmlType::q4_k);
  TensorPosition tied;
  tied.model_has_output = false;
  EXPECT_EQ(type_for("q4_k_m", "token_embd.weight", {256, 300}, tied), GgmlType::q6_k);
  EXPECT_EQ(type_for("q4_k_m", "blk.0.attn_qkv.weight", {256, 768}), GgmlType::q5_k);
  EXPECT_EQ(type_for("q5_k_m", "blk.0.attn_qkv.weight", {256, 768}), GgmlType::q6_k);
  EXPECT_EQ(type_for("q8_0", "output.weight", {256, 300}), GgmlType::q8_0);
  EXPECT_EQ(type_for("q4_k_m", "blk.0.attn_norm.weight", {256}), GgmlType::f32);
  EXPECT_EQ(type_for("q4_k_m", "blk.0.attn_q.bias", {256}), GgmlType::f32);
  EXPECT_EQ(type_for("q4_k_m", "blk.0.attn_q.weight", {256, 1}), GgmlType::f32) << "a [256, 1] is a vector";
  EXPECT_EQ(type_for("q4_k_m", "position_embd.weight", {256, 512}), GgmlType::f16) << "kept";
  EXPECT_EQ(type_for("q8_0", "token_types.weight", {256, 2}), GgmlType::f16) << "kept";
}

TEST(QuantizeRecipe, RowsThatDoNotFitABlockFallBackAsLlamaCppDoes) {
  // Rows of 576 (SmolLM2's width): a multiple of 32, not of 256.
  const std::vector<std::uint64_t> dims = {576, 64};
  EXPECT_EQ(type_for("q4_k", "blk.0.attn_q.weight", dims), GgmlType::q5_0);
  EXPECT_EQ(type_for("q5_k", "blk.0.attn_q.weight", dims), GgmlType::q5_1);
  EXPECT_EQ(type_for("q6_k", "blk.0.attn_q.weight", dims), GgmlType::q8_0);
  EXPECT_EQ(type_for("q2_k", "blk.0.attn_q.weight", dims), GgmlType::iq4_nl);
  EXPECT_EQ(type_for("q3_k", "blk.0.attn_q.weight", dims), GgmlType::iq4_nl);
  EXPECT_EQ(type_for("iq4_xs", "blk.0.attn_q.weight", dims), GgmlType::iq4_nl);
  EXPECT_EQ(type_for("q4_k_m", "output.weight", dims), GgmlType::q8_0);
  EXPECT_EQ(type_for("q4_0", "blk.0.attn_q.weight", dims), GgmlType::q4_0);
  // Rows of 100 fit no block: F16.
  EXPECT_EQ(type_for("q8_0", "blk.0.attn_q.weight", {100, 64}), GgmlType::f16);
  EXPECT_EQ(type_for("q4_k_m", "blk.0.attn_q.weight", {100, 64}), GgmlType::f16);
}

/// An F16 model of 8 layers whose ffn_down rows (288) are a multiple of 32 but not of 256, so that the
/// recipes' fallbacks and their Q6_K layers (0, 3, 6, 7 of 8) both appear.
RandomModelSpec fallback_model_spec(bool tied) {
  auto s = model_spec(GgmlType::f16, 8, 256, 4, 2, 288, 300, 25);
  s.tied_output = tied;
  return s;
}

class CliQuantize : public ::testing::Test {
 protected:
  fs::path write_model(const RandomModelSpec& spec, const std::string& name) const {
    const fs::path path = dir_ / name;
    make_random_model(spec).write(path.string());
    return path;
  }
  /// lagvk quantize --json IN OUT TYPE: exit 0 and its JSON.
  static json quantize_json(const fs::path& in, const fs::path& out, const std::string& type) {
    const auto r = run_lagvk("quantize --json " + in.string() + " " + out.string() + " " + type, false);
    EXPECT_EQ(r.status, 0) << r.out;
    return r.status == 0 ? json::parse(r.out) : json::object();
  }

  const ScratchDir scratch_{"quantize"};
  fs::path dir_ = scratch_.path();
};

TEST_F(CliQuantize, LayersAreCountedByBlockNumberWhateverTheFileOrder) {
  // Converters write blk.10 before blk.2 (names sorted as text); llama.cpp counts layers by number.
  const auto source = GgufFile::from_bytes(
      make_random_model(model_spec(GgmlType::f16, 12, 256, 4, 2, 256, 300, 43)).to_bytes());
  std::vector<const GgufTensorInfo*> sorted;
  for (const auto& t : source.tensors()) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  GgufWriter w;
  for (const auto& [key, value] : source.metadata()) w.set(key, value);
  for (const auto* t : sorted) {
    const auto data = source.tensor_data(*t);
    w.add_tensor(t->name, t->dims, t->type, std::vector<std::uint8_t>(data.begin(), data.end()));
  }
  const auto in = dir_ / "sorted.gguf", out = dir_ / "sorted-q4km.gguf";
  w.write(in.string());
  QuantizeOptions options;
  options.target = target("q4_k_m");
  const auto summary = quantize_model(in.string(), out.string(), options);
  const auto chosen = more_bits_layers(12);
  int checked = 0;
  for (const auto& t : summary.tensors) {
    for (const char* kind : {".attn_v.weight", ".ffn_down.weight"}) {
      const auto at = t.name.find(kind);
      if (at == std::string::npos) continue;
      const int layer = std::stoi(t.name.substr(4, at - 4));
      EXPECT_EQ(t.to, chosen.count(layer) ? GgmlType::q6_k : GgmlType::q4_k) << t.name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 24);
}

/// Every tensor of a model decoded by lagvk, by name.
std::map<std::string, std::vector<float>> lagvk_values(const fs::path& path) {
  const auto file = GgufFile::open(path.string());
  std::map<std::string, std::vector<float>> values;
  for (const auto& t : file.tensors())
    values[t.name] = dequantize(t.type, file.tensor_data(t), std::size_t(t.n_elements));
  return values;
}

TEST_F(CliQuantize, AQ4KMFileReadsIdenticallyInGgufPyAndKeepsEveryMetadataKey) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  const auto in = write_model(fallback_model_spec(false), "in.gguf");
  const auto out = dir_ / "out.gguf";
  const json summary = quantize_json(in, out, "Q4_K_M");
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));

  // The types llama.cpp's recipe gives each tensor of this model.
  const auto chosen = more_bits_layers(8);
  std::map<std::string, std::string> expected = {
      {"token_embd.weight", "Q4_K"}, {"output.weight", "Q6_K"}, {"output_norm.weight", "F32"}};
  for (int i = 0; i < 8; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const bool more = chosen.count(i) != 0;
    for (const char* m : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      expected[b + m + ".weight"] = "Q4_K";
    expected[b + "attn_v.weight"] = more ? "Q6_K" : "Q4_K";
    expected[b + "ffn_down.weight"] = more ? "Q8_0" : "Q5_0";  // rows of 288: Q6_K -> Q8_0, Q4_K -> Q5_0
    expected[b + "attn_norm.weight"] = expected[b + "ffn_norm.weight"] = "F32";
  }
  const GgufRefModel ref = gguf_ref_read_model(out);
  ASSERT_EQ(ref.tensors.size(), expected.size());
  const auto ours = lagvk_values(out);
  const auto input = lagvk_values(in);
  std::map<std::string, double> reported;
  for (const auto& t : summary["tensors"])
    reported[t["name"].get<std::string>()] = t["relative_rmse"].get<double>();
  for (const auto& t : ref.tensors) {
    const std::string name = t["name"];
    EXPECT_EQ(t["type"], expected[name]) << name;
    const auto& theirs = ref.values.at(name);
    ASSERT_EQ(theirs.size(), ours.at(name).size()) << name;
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < theirs.size(); ++i) mismatches += theirs[i] != ours.at(name)[i] ? 1 : 0;
    EXPECT_EQ(mismatches, 0u) << name << ": gguf-py and lagvk decode the stored values differently";
    // The error the command reports is the error of what gguf-py reads back.
    const double error = relative_rmse(input.at(name), theirs);
    EXPECT_NEAR(reported.at(name), error, 1e-9 + 1e-6 * error) << name;
    if (expected[name] != "F32") {
      EXPECT_GT(reported.at(name), 0.0) << name;
    }
  }

  // Every metadata key survives with its value, but the file type; the tokenizer's arrays too.
  const GgufRefModel source = gguf_ref_read_model(in);
  for (const auto& [key, value] : source.kv.items()) {
    if (key == "general.file_type") continue;
    EXPECT_EQ(ref.kv.value(key, json()), value) << key;
  }
  EXPECT_EQ(ref.kv["general.file_type"], 15);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(ref.kv["general.quantization_version"], 2);
  const auto a = GgufFile::open(in.string()), b = GgufFile::open(out.string());
  EXPECT_EQ(a.get_string_array("tokenizer.ggml.tokens"), b.get_string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(a.get_f32_array("tokenizer.ggml.scores"), b.get_f32_array("tokenizer.ggml.scores"));
  EXPECT_EQ(a.get_i32_array("tokenizer.ggml.token_type"), b.get_i32_array("tokenizer.ggml.token_type"));
  EXPECT_EQ(summary["file_type"], 15);
  EXPECT_EQ(summary["tensor_count"], expected.size());

  const auto info = run_lagvk("model-info --json -m " + out.string(), false);
  ASSERT_EQ(info.status, 0) << info.out;
  EXPECT_TRUE(json::parse(info.out)["runnable"].get<bool>()) << info.out;
}

TEST_F(CliQuantize, ATiedModelKeepsItsEmbeddingInQ6KAndVerboseListsEveryTensor) {
  auto spec = fallback_model_spec(true);
  spec.n_ff = 512;
  spec.n_layers = 2;
  const auto in = write_model(spec, "tied.gguf");
  const auto out = dir_ / "tied-q5km.gguf";
  const auto r = run_lagvk("quantize --verbose " + in.string() + " " + out.string() + " q5_k_m");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("token_embd.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rel. RMSE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("general.file_type 17"), std::string::npos) << r.out;
  const auto file = GgufFile::open(out.string());
  EXPECT_EQ(file.find_tensor("token_embd.weight")->type, GgmlType::q6_k);
  EXPECT_EQ(file.find_tensor("blk.0.attn_q.weight")->type, GgmlType::q5_k);
  // Every tensor has one line of the table.
  for (const auto& t : file.tensors()) EXPECT_NE(r.out.find(t.name + " "), std::string::npos) << t.name;
}

/// The float values of every matrix of a model, concatenated, and where each starts.
struct Matrices {
  std::vector<float> values;
  std::vector<std::pair<std::string, std::size_t>> starts;  // name, first element
};
Matrices matrices_of(const fs::path& path) {
  const auto file = GgufFile::open(path.string());
  Matrices m;
  for (const auto& t : file.tensors()) {
    if (t.dims.size() < 2) continue;
    const auto v = dequantize(t.type, file.tensor_data(t), std::size_t(t.n_elements));
    m.starts.emplace_back(t.name, m.values.size());
    m.values.insert(m.values.end(), v.begin(), v.end());
  }
  return m;
}

/// relative_rmse of each matrix of `decoded` (laid out as `m`) against m's values.
std::map<std::string, double> errors_by_matrix(const Matrices& m, const std::vector<float>& decoded) {
  std::map<std::string, double> errors;
  for (std::size_t i = 0; i < m.starts.size(); ++i) {
    const std::size_t begin = m.starts[i].second;
    const std::size_t end = i + 1 < m.starts.size() ? m.starts[i + 1].second : m.values.size();
    errors[m.starts[i].first] = relative_rmse(std::span(m.values).subspan(begin, end - begin),
                                              std::span(decoded).subspan(begin, end - begin));
  }
  return errors;
}

TEST_F(CliQuantize, ErrorPerTensorIsNoWorseThanGgufPysReferenceQuantizers) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  const auto in = write_model(model_spec(GgmlType::f16, 2, 256, 4, 2, 512, 300, 31), "in.gguf");
  const Matrices m = matrices_of(in);
  // gguf-py quantizes Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 as ggml's reference quantizers do: all matrices
  // in one call per type.
  std::map<std::string, std::map<std::string, double>> reference;
  for (const auto type : {GgmlType::q4_0, GgmlType::q4_1, GgmlType::q5_0, GgmlType::q5_1, GgmlType::q8_0}) {
    const auto blocks = gguf_ref_quantize(type, m.values);
    // Decoded by lagvk, bit-exact with gguf-py's decoders (test_quant): one Python run per type.
    reference[ggml_type_name(type)] = errors_by_matrix(m, dequantize(type, blocks, m.values.size()));
  }
  auto lagvk_errors = [&](const std::string& type) {
    const json s = quantize_json(in, dir_ / ("out-" + type + ".gguf"), type);
    std::map<std::string, double> errors;
    for (const auto& t : s.value("tensors", json::array()))
      if (reference["Q8_0"].count(t["name"].get<std::string>()))
        errors[t["name"].get<std::string>()] = t["relative_rmse"].get<double>();
    EXPECT_EQ(errors.size(), m.starts.size()) << type;
    return errors;
  };
  for (const auto& [type, ref_errors] : reference) {
    for (const auto& [name, error] : lagvk_errors(type)) {
      EXPECT_LE(error, ref_errors.at(name) * (1 + 1e-6)) << type << " " << name;
      EXPECT_GT(error, 0.0) << type << " " << name;
    }
  }
  // gguf-py has no K-quant or IQ4 quantizer: ErrorPerTensorIsNoWorseThanGgmlsOwnQuantizers compares them.
}

/// The prebuilt llama.cpp libraries of the peer (node-llama-cpp's linux-x64 build), which
/// tests/gguf_ref/ggml_quantize.py and llama_quantize.py load; "" when present, else what is missing.
std::string peer_libraries_missing() {
  if (!llama_peer_available(PeerBackend::cpu)) return llama_peer_unavailable_reason(PeerBackend::cpu);
  const fs::path bins = fs::path(LAGVK_SOURCE_DIR) / "tools" / "peer" / "node_modules" / "@node-llama-cpp" /
                        "linux-x64" / "bins" / "linux-x64";
  for (const char* lib : {"libggml-base.so", "libggml.v0.5.0.so", "libllama.v0.5.0.so"})
    if (!fs::exists(bins / lib))
      return (bins / lib).string() + " is missing: scripts/setup_peer.sh installs node-llama-cpp's build";
  return "";
}

/// ggml's own quantization of `values` (rows of `row`) as `type`, through tests/gguf_ref/ggml_quantize.py
/// and the libggml-base.so that the llama.cpp peer ships; decoded by lagvk (bit-exact with ggml's
/// decoders: test_quant).
std::vector<float> ggml_round_trip(GgmlType type, const std::vector<float>& values, std::size_t row,
                                   const fs::path& dir) {
  const fs::path in = dir / "ggml_in.f32", out = dir / "ggml_out.bin";
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
  const fs::path ref = fs::path(LAGVK_SOURCE_DIR) / "tests" / "gguf_ref";
  const auto r = run_shell((ref / "venv" / "bin" / "python").string() + " -B " +
                           (ref / "ggml_quantize.py").string() + " " + ggml_type_name(type) + " " +
                           std::to_string(row) + " " + in.string() + " " + out.string() + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  std::ifstream file(out, std::ios::binary);
  const std::vector<std::uint8_t> blocks((std::istreambuf_iterator<char>(file)),
                                         std::istreambuf_iterator<char>());
  if (blocks.size() != row_bytes(type, values.size())) return std::vector<float>(values.size(), 0.0f);
  return dequantize(type, blocks, values.size());
}

TEST_F(CliQuantize, ErrorPerTensorIsNoWorseThanGgmlsOwnQuantizers) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  if (const auto missing = peer_libraries_missing(); !missing.empty()) LAGVK_REFERENCE_MISSING(missing);
  // Rows of 256: every matrix is whole super-blocks, so one call per type quantizes them all.
  const auto in = write_model(model_spec(GgmlType::f16, 2, 256, 4, 2, 512, 300, 37), "in.gguf");
  const Matrices m = matrices_of(in);
  for (const auto type : {GgmlType::q2_k, GgmlType::q3_k, GgmlType::q4_k, GgmlType::q5_k, GgmlType::q6_k,
                          GgmlType::iq4_nl, GgmlType::iq4_xs}) {
    const auto theirs = errors_by_matrix(m, ggml_round_trip(type, m.values, 256, dir_));
    const std::string name(type_info(type).lower_name);
    const json s = quantize_json(in, dir_ / ("out-" + name + ".gguf"), name);
    std::size_t compared = 0;
    for (const auto& t : s.value("tensors", json::array())) {
      const auto it = theirs.find(t["name"].get<std::string>());
      if (it == theirs.end()) continue;
      ++compared;
      EXPECT_LE(t["relative_rmse"].get<double>(), it->second * (1 + 1e-6))
          << name << " " << it->first << ": lagvk's error against ggml's";
    }
    EXPECT_EQ(compared, m.starts.size()) << name;
  }
}

/// `in` quantized by llama.cpp's own llama_model_quantize (tests/gguf_ref/llama_quantize.py, with the
/// peer's libllama.so) as llama.cpp file type `ftype`.
bool llama_quantize(const fs::path& in, const fs::path& out, std::uint32_t ftype) {
  const fs::path ref = fs::path(LAGVK_SOURCE_DIR) / "tests" / "gguf_ref";
  const auto r =
      run_shell((ref / "venv" / "bin" / "python").string() + " -B " + (ref / "llama_quantize.py").string() +
                " " + in.string() + " " + out.string() + " " + std::to_string(ftype) + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  return r.status == 0;
}

TEST_F(CliQuantize, EveryRecipeChoosesLlamaQuantizesTypesWithNoLargerErrors) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  if (const auto missing = peer_libraries_missing(); !missing.empty()) LAGVK_REFERENCE_MISSING(missing);
  auto tied = fallback_model_spec(true);
  tied.n_layers = 3;
  // A bert model: position and token-type embeddings kept, token_embd taken for the output matrix.
  auto bert = model_spec(GgmlType::f16, 2, 256, 4, 4, 512, 300, 47);
  bert.arch = "bert";
  const std::vector<std::pair<fs::path, std::vector<std::string>>> cases = {
      {write_model(fallback_model_spec(false), "untied.gguf"), {"q4_k_m", "q5_k_m", "q6_k", "q8_0"}},
      {write_model(tied, "tied.gguf"), {"q4_k_m"}},
      {write_model(bert, "bert.gguf"), {"q4_k_m"}}};
  for (const auto& [in, recipes] : cases) {
    const auto input = lagvk_values(in);
    for (const auto& recipe : recipes) {
      const std::string what = in.filename().string() + " " + recipe;
      const auto ours = dir_ / ("lagvk-" + recipe + ".gguf"), theirs = dir_ / ("llama-" + recipe + ".gguf");
      const json summary = quantize_json(in, ours, recipe);
      ASSERT_TRUE(llama_quantize(in, theirs, target(recipe).file_type)) << what;
      const auto a = GgufFile::open(ours.string()), b = GgufFile::open(theirs.string());
      EXPECT_EQ(a.get_u32("general.file_type"), b.get_u32("general.file_type")) << what;
      ASSERT_EQ(a.tensors().size(), b.tensors().size()) << what;
      const auto llama_values = lagvk_values(theirs);
      for (const auto& t : summary.value("tensors", json::array())) {
        const std::string name = t["name"];
        const auto* other = b.find_tensor(name);
        ASSERT_NE(other, nullptr) << what << ": " << name;
        EXPECT_EQ(t["to"], ggml_type_name(other->type)) << what << ": " << name;
        const double llama_error = relative_rmse(input.at(name), llama_values.at(name));
        EXPECT_LE(t["relative_rmse"].get<double>(), llama_error * (1 + 1e-6))
            << what << ": " << name << " (" << t["to"] << ")";
      }
    }
  }
}

class CliQuantizeGpu : public CliQuantize {};

TEST_F(CliQuantizeGpu, LlamaCppAcceptsLagvksGreedyTokensOnAQ4KMFile) {
  if (!llama_peer_available(PeerBackend::cpu))
    LAGVK_REFERENCE_MISSING(llama_peer_unavailable_reason(PeerBackend::cpu));
  const auto in = write_model(fallback_model_spec(false), "in.gguf");
  const auto out = dir_ / "q4km.gguf";
  (void)quantize_json(in, out, "q4_k_m");
  const std::vector<std::int32_t> prompt = {1, 40, 41, 200, 7, 260, 99};
  std::vector<std::int32_t> ours;
  {
    LoadOptions o;
    o.context = 128;
    auto engine = load_engine(out.string(), o);
    auto seq = engine->new_sequence();
    GenerateOptions g;
    g.max_tokens = 24;
    g.sampling.temperature = 0;
    g.stop_at_end_of_generation = false;
    ours = generate(*engine, *seq, prompt, g).tokens;
  }
  ASSERT_EQ(ours.size(), 24u);
  const PeerScore judged = llama_peer_score(out, prompt, ours);
  ASSERT_GE(judged.steps.size(), ours.size());
  // A step where lagvk's token is not llama.cpp's argmax must be a near-tie within the log-probability
  // tolerance the agreement tests give quantized weights (0.6 nats, test_llamacpp_agreement.cpp: the two
  // engines round the activations of quantized matrix products differently), and such steps stay rare.
  const double near_tie = std::exp(-0.6);
  int exact = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    exact += judged.steps[i].token == judged.steps[i].top_token ? 1 : 0;
    EXPECT_TRUE(llama_peer_accepts(judged.steps[i], near_tie))
        << "step " << i << ": lagvk chose " << ours[i] << " (llama.cpp p=" << judged.steps[i].token_prob
        << "), llama.cpp's top is " << judged.steps[i].top_token << " (p=" << judged.steps[i].top_prob << ")";
  }
  std::printf("q4_k_m from lagvk quantize: %d/24 steps are llama.cpp's argmax\n", exact);
  EXPECT_GE(exact, 21);
}

TEST_F(CliQuantize, BadInputExitsOneWithAMessageAndLeavesNoOutput) {
  const auto f16 = write_model(small_model_spec(GgmlType::f16, 3), "f16.gguf");
  const auto q8 = write_model(small_model_spec(GgmlType::q8_0, 3), "q8.gguf");
  const std::string out = (dir_ / "out.gguf").string();
  const Placeholders files = {{"f16", f16.string()},
                              {"q8", q8.string()},
                              {"out", out},
                              {"missing", (dir_ / "missing.gguf").string()},
                              {"nodir", (dir_ / "no-such-dir" / "out.gguf").string()},
                              {"dir", dir_.string()}};
  run_cases(
      {
          {"missing input",
           "quantize {missing} {out} q4_k_m",
           kExitError,
           {"error:", "missing.gguf", "does not exist"}},
          {"quantized input",
           "quantize {q8} {out} q4_k_m",
           kExitError,
           {"error:", "q8.gguf", "already quantized", "Q8_0", "F16/BF16/F32 original"}},
          {"unknown type",
           "quantize {f16} {out} q4_k_xl",
           kExitError,
           {"error:", "unknown TYPE 'q4_k_xl'", "q4_k_m"}},
          {"output in a missing directory",
           "quantize {f16} {nodir} q8_0",
           kExitError,
           {"error:", "no-such-dir", "does not exist"}},
          {"output is the input", "quantize {f16} {f16} q8_0", kExitError, {"error:", "is the input model"}},
          {"output is a directory", "quantize {f16} {dir} q8_0", kExitError, {"error:", "is a directory"}},
          {"too few arguments", "quantize {f16} q8_0", kExitError, {"error:", "give IN.gguf OUT.gguf TYPE"}},
      },
      files);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
  EXPECT_TRUE(GgufFile::open(f16.string()).find_tensor("output.weight")) << "the input is untouched";
}

TEST_F(CliQuantize, AFailedWriteLeavesNoPartialOutput) {
  const auto in = write_model(small_model_spec(GgmlType::f16, 4), "in.gguf");
  const std::string out = (dir_ / "out.gguf").string();
  // A file-size limit of 64 KiB (ulimit counts 1024-byte blocks) makes the write fail part way.
  const auto r =
      run_shell("ulimit -f 64; " + lagvk_binary() + " quantize " + in.string() + " " + out + " q8_0 2>&1");
  expect_error(r, "cannot write", "a write past the file-size limit");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST_F(CliQuantize, ATerminalShowsAProgressBarInTensorsAndBytesAndAPipeDoesNot) {
  const auto in = write_model(small_model_spec(GgmlType::f16, 6), "in.gguf");
  const auto out = dir_ / "out.gguf";
  // script(1) gives lagvk a terminal for stderr; the bar is drawn there and erased before the summary.
  const auto tty = run_shell("script -qec '" + lagvk_binary() + " quantize " + in.string() + " " +
                             out.string() + " q8_0' /dev/null");
  ASSERT_EQ(tty.status, 0) << tty.out;
  EXPECT_NE(tty.out.find("quantizing 0/"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find(" tensors ["), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find(" MB"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\r\033[K"), std::string::npos) << "the bar is erased";
  const auto pipe = run_lagvk("quantize -v " + in.string() + " " + out.string() + " q8_0");
  ASSERT_EQ(pipe.status, 0) << pipe.out;
  EXPECT_NE(pipe.out.find("rel. RMSE"), std::string::npos) << pipe.out;
  EXPECT_EQ(pipe.out.find("quantizing"), std::string::npos) << pipe.out;
  EXPECT_NE(pipe.out.find("wrote " + out.string()), std::string::npos) << pipe.out;
}

TEST_F(CliQuantize, TheOutputIsTheSameForAnyNumberOfThreads) {
  const auto in = write_model(model_spec(GgmlType::f16, 2, 256, 4, 2, 512, 300, 41), "in.gguf");
  const auto one = dir_ / "one.gguf", three = dir_ / "three.gguf";
  const auto serial = run_lagvk("quantize --threads 1 " + in.string() + " " + one.string() + " q4_k_m");
  ASSERT_EQ(serial.status, 0) << serial.out;
  const auto parallel = run_lagvk("quantize -t 3 " + in.string() + " " + three.string() + " q4_k_m");
  ASSERT_EQ(parallel.status, 0) << parallel.out;
  auto bytes = [](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes(one), bytes(three));
  const auto bad = run_lagvk("quantize --threads 0 " + in.string() + " " + one.string() + " q8_0");
  expect_error(bad, "--threads", "zero threads");
}

TEST_F(CliQuantize, AllowRequantizeDecodesAQuantizedInputFirst) {
  const auto q8 = write_model(small_model_spec(GgmlType::q8_0, 5), "q8.gguf");
  const auto out = dir_ / "q4.gguf";
  const auto r =
      run_lagvk("quantize --allow-requantize --json " + q8.string() + " " + out.string() + " q4_0", false);
  ASSERT_EQ(r.status, 0) << r.out;
  const json s = json::parse(r.out);
  bool saw_matrix = false;
  for (const auto& t : s["tensors"]) {
    if (t["from"] != "Q8_0") continue;
    saw_matrix = true;
    EXPECT_EQ(t["to"], "Q4_0") << t.dump();
    EXPECT_GT(t["relative_rmse"].get<double>(), 0.0) << t.dump();
  }
  EXPECT_TRUE(saw_matrix);
  EXPECT_EQ(GgufFile::open(out.string()).get_u32("general.file_type"), 2u);  // LLAMA_FTYPE_MOSTLY_Q4_0
}

TEST_F(CliQuantize, SmolLM2F16BecomesLlamaCppsQ4KMMixture) {
  const auto smol = smollm2_f16();
  if (!smol.available()) LAGVK_REFERENCE_MISSING(smol.missing_reason);
  const auto out = dir_ / "smollm2-q4_k_m.gguf";
  const json s = quantize_json(smol.path, out, "q4_k_m");
  // 30 layers of width 576 (not a multiple of 256) and ff 1536, tied output: the Q6_K choices of width-576
  // rows fall back to Q8_0, the Q4_K ones to Q5_0; ffn_down rows (1536) fit Q6_K and Q4_K.
  const auto chosen = more_bits_layers(30);
  std::map<std::string, std::string> types;
  for (const auto& t : s.value("tensors", json::array()))
    types[t["name"].get<std::string>()] = t["to"].get<std::string>();
  EXPECT_EQ(types["token_embd.weight"], "Q8_0");
  for (int i = 0; i < 30; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const bool more = chosen.count(i) != 0;
    EXPECT_EQ(types[b + "attn_v.weight"], more ? "Q8_0" : "Q5_0") << i;
    EXPECT_EQ(types[b + "ffn_down.weight"], more ? "Q6_K" : "Q4_K") << i;
    EXPECT_EQ(types[b + "attn_q.weight"], "Q5_0") << i;
    EXPECT_EQ(types[b + "attn_norm.weight"], "F32") << i;
  }
  EXPECT_LT(s.value("max_relative_rmse", 1.0), 0.1);
  const auto info = run_lagvk("model-info --json -m " + out.string(), false);
  ASSERT_EQ(info.status, 0) << info.out;
  const json j = json::parse(info.out);
  EXPECT_TRUE(j["runnable"].get<bool>()) << info.out;
  EXPECT_EQ(j["tokenizer"]["pre"], "smollm");
}

}  // namespace
}  // namespace lagvk::test
