// Model description: hyper-parameters from metadata, architecture switches, tensor validation with
// clear errors, and the random model generator's file (metadata llama.cpp needs, types, determinism).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <set>

#include "engine/core/error.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/model.hpp"
#include "engine/model/random_model.hpp"
#include "engine/model/synthetic_vocab.hpp"

namespace lagvk {
namespace {

RandomModelSpec small_spec() {
  RandomModelSpec s;
  s.n_layers = 2;
  s.n_embd = 64;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 96;
  s.n_vocab = 300;
  s.n_ctx = 256;
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, ReadsHyperParametersAndSwitches) {
  auto s = small_spec();
  const auto m = Model::from_gguf(GgufFile::from_bytes(make_random_model(s).to_bytes()));
  const auto& c = m.config();
  EXPECT_EQ(c.arch, "llama");
  EXPECT_EQ(c.n_layers, 2u);
  EXPECT_EQ(c.n_embd, 64u);
  EXPECT_EQ(c.n_head, 4u);
  EXPECT_EQ(c.n_head_kv, 2u);
  EXPECT_EQ(c.head_dim, 16u);
  EXPECT_EQ(c.kv_dim(), 32u);
  EXPECT_EQ(c.n_ff, 96u);
  EXPECT_EQ(c.n_vocab, 300u);
  EXPECT_EQ(c.n_ctx_train, 256u);
  EXPECT_EQ(c.rope_dims, 16u);
  EXPECT_EQ(c.traits.rope_mode, ref::RopeMode::normal);
  EXPECT_FALSE(c.traits.qkv_bias);
  EXPECT_FALSE(c.tied_output);
  EXPECT_FALSE(c.has_rope_freqs);
  EXPECT_EQ(m.weights().layers.size(), 2u);
  EXPECT_EQ(m.weights().layers[1].wk.ne, (std::vector<std::uint64_t>{64, 32}));
  EXPECT_EQ(m.weights().layers[1].wk.rows(), 32u);

  EXPECT_EQ(arch_traits("qwen2").rope_mode, ref::RopeMode::neox);
  EXPECT_TRUE(arch_traits("qwen2").qkv_bias);
  EXPECT_TRUE(arch_traits("qwen3").qk_norm);
  EXPECT_FALSE(arch_traits("qwen3").qkv_bias);
}

TEST(ModelConfig, UnknownArchitectureListsSupportedOnes) {
  GgufWriter w;
  w.set_string("general.architecture", "mamba");
  const auto msg = error_of([&] { (void)read_model_config(GgufFile::from_bytes(w.to_bytes())); });
  EXPECT_NE(msg.find("mamba"), std::string::npos) << msg;
  EXPECT_NE(msg.find("llama, qwen2, qwen3"), std::string::npos) << msg;
}

// A copy of a generated model's metadata with one key changed (or removed, when value is empty).
std::vector<std::uint8_t> with_metadata(const std::string& key, std::optional<GgufValue> value) {
  const auto src = GgufFile::from_bytes(make_random_model(small_spec()).to_bytes());
  GgufWriter w;
  for (const auto& [k, v] : src.metadata())
    if (k != key) w.set(k, v);
  if (value) w.set(key, *value);
  for (const auto& t : src.tensors()) {
    const auto data = src.tensor_data(t);
    w.add_tensor(t.name, t.dims, t.type, {data.begin(), data.end()});
  }
  return w.to_bytes();
}

TEST(ModelConfig, BadHyperParametersAreNamed) {
  auto msg =
      error_of([] { (void)read_model_config(GgufFile::from_bytes(with_metadata("llama.block_count", {}))); });
  EXPECT_NE(msg.find("llama.block_count"), std::string::npos) << msg;
  msg = error_of([] {
    (void)read_model_config(
        GgufFile::from_bytes(with_metadata("llama.attention.head_count_kv", GgufValue::u32(3))));
  });
  EXPECT_NE(msg.find("3 key/value heads"), std::string::npos) << msg;
  msg = error_of([] {
    (void)read_model_config(
        GgufFile::from_bytes(with_metadata("llama.rope.scaling.type", GgufValue::string("yarn"))));
  });
  EXPECT_NE(msg.find("YaRN"), std::string::npos) << msg;
  msg = error_of([] {
    (void)read_model_config(
        GgufFile::from_bytes(with_metadata("llama.embedding_length", GgufValue::f32(64))));
  });
  EXPECT_NE(msg.find("should be an integer"), std::string::npos) << msg;
  // Linear scaling becomes a position scale of 1 / factor.
  const auto f = GgufFile::from_bytes(with_metadata("llama.rope.scaling.factor", GgufValue::f32(4.0f)));
  const auto c = read_model_config(f);
  EXPECT_EQ(c.rope_scaling, RopeScaling::linear);
  EXPECT_EQ(c.rope_params().freq_scale, 0.25f);
}

TEST(Model, TiedOutputAndRopeFactors) {
  auto s = small_spec();
  s.tied_output = true;
  s.rope_factors = true;
  const auto m = Model::from_gguf(GgufFile::from_bytes(make_random_model(s).to_bytes()));
  EXPECT_TRUE(m.config().tied_output);
  ASSERT_TRUE(m.weights().rope_freqs.has_value());
  const auto f = m.weights().rope_freqs->to_float();
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f.front(), 1.0f);  // highest frequency: unchanged
  EXPECT_EQ(f.back(), 8.0f);   // wavelength 2*pi*10000^(14/16) > 8192: divided by the full factor
  for (std::size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
  EXPECT_EQ(m.weights().output.name, "token_embd.weight");
}

TEST(Model, MissingOrMisshapenTensorsAreNamed) {
  auto s = small_spec();
  const auto good = make_random_model(s).to_bytes();
  // Rebuild a file without one tensor / with one wrong shape by copying all but that tensor.
  const auto src = GgufFile::from_bytes(good);
  auto rebuild = [&](const std::string& skip, const std::string& reshape) {
    GgufWriter w;
    for (const auto& [k, v] : src.metadata()) w.set(k, v);
    for (const auto& t : src.tensors()) {
      if (t.name == skip) continue;
      auto data = src.tensor_data(t);
      auto dims = t.dims;
      if (t.name == reshape) std::swap(dims[0], dims[1]);
      w.add_tensor(t.name, dims, t.type, {data.begin(), data.end()});
    }
    return w.to_bytes();
  };
  auto msg =
      error_of([&] { (void)Model::from_gguf(GgufFile::from_bytes(rebuild("blk.1.ffn_up.weight", ""))); });
  EXPECT_NE(msg.find("blk.1.ffn_up.weight"), std::string::npos) << msg;
  msg = error_of([&] { (void)Model::from_gguf(GgufFile::from_bytes(rebuild("", "blk.0.attn_k.weight"))); });
  EXPECT_NE(msg.find("blk.0.attn_k.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[32, 64]"), std::string::npos) << msg;
}

TEST(RandomModel, WritesTheMetadataLlamaCppNeeds) {
  auto s = small_spec();
  s.type = GgmlType::q8_0;
  const auto f = GgufFile::from_bytes(make_random_model(s).to_bytes());
  EXPECT_EQ(f.get_u32("general.file_type"), 7u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.get_u32("llama.vocab_size"), 300u);
  EXPECT_EQ(f.get_u32("llama.rope.dimension_count"), 16u);
  EXPECT_EQ(f.get_u32("llama.context_length"), 256u);
  EXPECT_EQ(f.get_array_size("tokenizer.ggml.tokens"), 300u);
  EXPECT_EQ(f.get_array_size("tokenizer.ggml.scores"), 300u);
  EXPECT_EQ(f.get_array_size("tokenizer.ggml.token_type"), 300u);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight")->type, GgmlType::q8_0);
  EXPECT_EQ(f.find_tensor("token_embd.weight")->type, GgmlType::q8_0);
  EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, GgmlType::f32);
}

TEST(RandomModel, SameSeedSameBytesOtherSeedOtherBytes) {
  auto s = small_spec();
  const auto a = make_random_model(s).to_bytes();
  const auto b = make_random_model(s).to_bytes();
  s.seed = 2;
  const auto c = make_random_model(s).to_bytes();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(RandomModel, RejectsBadSpecs) {
  auto s = small_spec();
  s.n_head_kv = 3;
  EXPECT_NE(error_of([&] { validate(s); }).find("kv heads 3"), std::string::npos);
  s = small_spec();
  s.type = GgmlType::q4_0;
  s.n_ff = 100;
  EXPECT_NE(error_of([&] { validate(s); }).find("multiples of 32"), std::string::npos);
  s = small_spec();
  s.n_layers = 100000;
  s.n_embd = 8192;
  s.n_ff = 8192 * 4;
  EXPECT_NE(error_of([&] { validate(s); }).find("GiB"), std::string::npos);
}

// Adding a tensor is constant time: a writer of n tensors used to search all earlier names on each add
// (O(n^2)), which made make-model's time grow with the square of --layers. 50,000 tiny tensors took
// seconds that way; now they take milliseconds, far inside the budget even on a loaded machine.
TEST(GgufWriter, AddingManyTensorsIsLinear) {
  GgufWriter w;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50000; ++i)
    w.add_tensor("blk." + std::to_string(i) + ".attn_norm.weight", {4}, GgmlType::f32,
                 std::vector<std::uint8_t>(16));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.5);
  EXPECT_THROW(w.add_tensor("blk.7.attn_norm.weight", {4}, GgmlType::f32, std::vector<std::uint8_t>(16)),
               Error);
}

TEST(SyntheticVocab, LayoutIsLlamaLike) {
  const auto v = make_synthetic_vocab(1000);
  ASSERT_EQ(v.tokens.size(), 1000u);
  EXPECT_EQ(v.tokens[0], "<unk>");
  EXPECT_EQ(v.tokens[1], "<s>");
  EXPECT_EQ(v.tokens[2], "</s>");
  EXPECT_EQ(v.tokens[3], "<0x00>");
  EXPECT_EQ(v.tokens[3 + 0x0A], "<0x0A>");
  EXPECT_EQ(v.tokens[258], "<0xFF>");
  EXPECT_EQ(v.types[1], int(TokenType::control));
  EXPECT_EQ(v.types[100], int(TokenType::byte));
  EXPECT_EQ(v.types[259], int(TokenType::normal));
  std::set<std::string> unique(v.tokens.begin(), v.tokens.end());
  EXPECT_EQ(unique.size(), v.tokens.size());
  EXPECT_TRUE(unique.count("\xe2\x96\x81the"));
  for (std::size_t i = 260; i < v.tokens.size(); ++i) EXPECT_LT(v.scores[i], v.scores[i - 1]);
}

}  // namespace
}  // namespace lagvk
