// Cache augmentation's engine parts (engine/forward/cache_augmentation): prefill from input embeddings,
// a coprocessor reading its decoder's cache pages, and the decoder taking the latents as inputs, each
// against the CPU reference (engine/ref/forward) on random models, with awkward lengths (a prompt that
// ends inside a KV page, soft tokens that span several batches).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "engine/core/error.hpp"
#include "engine/forward/cache_augmentation.hpp"
#include "engine/forward/forward.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/model/random_model.hpp"
#include "engine/ref/forward.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tests/support/thrown_error.hpp"

namespace lagvk::test {
namespace {

struct AugmentCase {
  std::string name;
  RandomModelSpec spec;
};

void PrintTo(const AugmentCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<AugmentCase> augment_cases() {
  std::vector<AugmentCase> cases;
  cases.push_back({"F16_gqa", model_spec(GgmlType::f16, 2, 128, 4, 2, 320, 300, 11)});
  cases.push_back({"Q4_0_mha", model_spec(GgmlType::q4_0, 3, 96, 3, 3, 224, 277, 12)});
  auto qwen3 = model_spec(GgmlType::q8_0, 2, 128, 4, 2, 256, 300, 13);
  qwen3.arch = "qwen3";
  cases.push_back({"qwen3_Q8_0", qwen3});
  // gemma scales its input embeddings by sqrt(width): embeddings in must be scaled as token lookups are.
  auto gemma2 = model_spec(GgmlType::f16, 2, 128, 4, 2, 288, 300, 14);
  gemma2.arch = "gemma2";
  gemma2.sliding_window = 8;
  cases.push_back({"gemma2_F16_scaled_inputs", gemma2});
  return cases;
}

Model load(const RandomModelSpec& spec, const std::string& name) {
  return Model::from_gguf(GgufFile::from_bytes(make_random_model(spec).to_bytes(), name));
}

std::vector<std::int32_t> iota_positions(std::int32_t first, std::size_t count) {
  std::vector<std::int32_t> p(count);
  std::iota(p.begin(), p.end(), first);
  return p;
}

/// Rows of the model's token embedding table, dequantized as the CPU reference reads them.
std::vector<float> token_embeddings(const Model& model, std::span<const std::int32_t> tokens) {
  const std::vector<float> table = model.weights().token_embd.to_float();
  const std::size_t dim = model.config().n_embd;
  std::vector<float> rows;
  for (auto t : tokens)
    rows.insert(rows.end(), table.begin() + std::ptrdiff_t(t * dim),
                table.begin() + std::ptrdiff_t((t + 1) * dim));
  return rows;
}

const std::vector<std::int32_t> kPrompt = {1, 17, 260, 261, 5, 99, 123, 45, 200, 201, 202, 7, 259};

class CacheAugmentation : public GpuTest, public ::testing::WithParamInterface<AugmentCase> {};

// The token embeddings given as embeddings give the token prefill's logits, on the GPU and on the CPU.
TEST_P(CacheAugmentation, EmbeddingsInEqualTokenPrefill) {
  const AugmentCase& c = GetParam();
  const Model model = load(c.spec, c.name);
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 64);
  KvSequence by_token(gpu(), pool, 256), by_embedding(gpu(), pool, 256);
  lagvk::Forward forward(gpu(), weights, /*max_batch=*/8);  // 13 rows: two batches
  const auto positions = iota_positions(0, kPrompt.size());
  const auto from_tokens = forward.eval(by_token, kPrompt, positions);
  const auto embeddings = token_embeddings(model, kPrompt);
  const auto from_embeddings = forward.eval_embeddings(by_embedding, embeddings, positions);
  const ErrorStats gpu_gap = compare(from_embeddings, from_tokens);
  EXPECT_LE(gpu_gap.max_rel, 1e-6) << "GPU: embeddings in vs tokens";
  EXPECT_EQ(by_embedding.length(), by_token.length());

  ref::RefModel reference(model);
  const auto ref_all = reference.forward_embeddings(embeddings);
  const std::size_t V = host.config.vocab;
  const ErrorStats ref_gap =
      compare(from_embeddings, std::span<const float>(ref_all).subspan(ref_all.size() - V));
  EXPECT_LE(ref_gap.max_rel, 1e-3) << "GPU embeddings in vs the CPU reference";
  ref::RefModel by_ref_token(model);
  const ErrorStats ref_self = compare(ref_all, by_ref_token.forward(kPrompt));
  EXPECT_LE(ref_self.max_rel, 1e-6) << "CPU: embeddings in vs tokens";

  // A decode step after either prefill reads the same cache.
  const std::int32_t next = 42, pos = std::int32_t(kPrompt.size());
  const auto a = forward.eval(by_token, std::span(&next, 1), std::span(&pos, 1));
  const auto b = forward.eval(by_embedding, std::span(&next, 1), std::span(&pos, 1));
  EXPECT_LE(compare(b, a).max_rel, 1e-6);
}

// The coprocessor (a second random model of the decoder's shape) reads the decoder's cache and its soft
// tokens; the decoder takes the latents; decoding continues after them. All against the CPU reference,
// where the coprocessor's cache is a copy of the decoder's. Prompts that end inside a KV page (its last
// page is copied, the rest shared) and on a page boundary (all shared).
TEST_P(CacheAugmentation, CoprocessorAndDecoderMatchCpuReference) {
  const AugmentCase& c = GetParam();
  const Model decoder_model = load(c.spec, c.name);
  RandomModelSpec copro_spec = c.spec;
  copro_spec.seed += 1000;
  const Model copro_model = load(copro_spec, c.name + "_coprocessor");
  const HostWeights decoder_host = host_weights(decoder_model), copro_host = host_weights(copro_model);
  GpuWeights decoder_weights(gpu(), decoder_host), copro_weights(gpu(), copro_host);
  const auto& cfg = decoder_host.config;
  KvPool pool(gpu(), {cfg.layers, cfg.kv_heads, cfg.head_dim, 16}, 64);
  lagvk::Forward decoder(gpu(), decoder_weights, /*max_batch=*/8), coprocessor(gpu(), copro_weights, 4);

  for (const std::size_t prompt_length : {std::size_t(13), std::size_t(32)}) {
    SCOPED_TRACE(prompt_length);
    std::vector<std::int32_t> prompt(prompt_length);
    for (std::size_t i = 0; i < prompt_length; ++i) prompt[i] = kPrompt[i % kPrompt.size()];
    KvSequence seq(gpu(), pool, 256);
    ref::RefModel ref_decoder(decoder_model), ref_coprocessor(copro_model);
    (void)decoder.eval(seq, prompt, iota_positions(0, prompt.size()));
    (void)ref_decoder.forward(prompt);
    const std::uint32_t free_before = pool.free_pages();

    constexpr std::size_t kLatents = 7;  // two coprocessor batches of 4
    const auto soft = random_floats(kLatents * cfg.dim, 99, -0.5f, 0.5f);
    const auto pos0 = std::int32_t(prompt.size());
    const Augmentation got = augment_cache(coprocessor, decoder, pool, seq, soft, pos0);
    ref_coprocessor.share_cache(ref_decoder);
    const auto want_latents = ref_coprocessor.hidden_states(soft);
    const auto want_all = ref_decoder.forward_embeddings(want_latents);
    const std::size_t V = cfg.vocab;
    const ErrorStats latents = compare(got.latents, want_latents);
    const ErrorStats logits =
        compare(got.logits, std::span<const float>(want_all).subspan(want_all.size() - V));
    std::printf("%-26s prompt %2zu: latents max_abs %.3e normalised %.3e; logits normalised %.3e\n",
                c.name.c_str(), prompt_length, latents.max_abs, latents.max_rel, logits.max_rel);
    EXPECT_TRUE(latents.finite && logits.finite);
    EXPECT_LE(latents.max_rel, 1e-3);
    EXPECT_LE(logits.max_rel, 1e-3);
    EXPECT_EQ(seq.length(), prompt.size() + kLatents);
    // The scratch sequence's pages went back; the latents took the decoder's own pages only.
    const std::uint32_t pages_before = std::uint32_t((prompt.size() + 15) / 16),
                        pages_after = std::uint32_t((prompt.size() + kLatents + 15) / 16);
    EXPECT_EQ(pool.free_pages(), free_before - (pages_after - pages_before));

    // Decoding continues after the latents, at positions that follow them.
    for (std::int32_t step = 0; step < 3; ++step) {
      const std::int32_t token = 30 + step, pos = pos0 + std::int32_t(kLatents) + step;
      const auto g = decoder.eval(seq, std::span(&token, 1), std::span(&pos, 1));
      const auto r = ref_decoder.forward(std::span(&token, 1));
      EXPECT_LE(compare(g, r).max_rel, 1e-3) << "decode step " << step;
    }
  }
}

// No soft tokens: nothing runs, and decoding gives exactly what it gives without augmentation.
TEST_P(CacheAugmentation, ZeroLatentsChangeNothing) {
  const AugmentCase& c = GetParam();
  const Model model = load(c.spec, c.name);
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 64);
  KvSequence plain(gpu(), pool, 256), augmented(gpu(), pool, 256);
  lagvk::Forward forward(gpu(), weights, 8);
  const auto positions = iota_positions(0, kPrompt.size());
  (void)forward.eval(plain, kPrompt, positions);
  (void)forward.eval(augmented, kPrompt, positions);
  const Augmentation none =
      augment_cache(forward, forward, pool, augmented, {}, std::int32_t(kPrompt.size()));
  EXPECT_TRUE(none.latents.empty());
  EXPECT_TRUE(none.logits.empty());
  EXPECT_EQ(augmented.length(), plain.length());
  const std::int32_t token = 9, pos = std::int32_t(kPrompt.size());
  const auto a = forward.eval(plain, std::span(&token, 1), std::span(&pos, 1));
  const auto b = forward.eval(augmented, std::span(&token, 1), std::span(&pos, 1));
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(Models, CacheAugmentation, ::testing::ValuesIn(augment_cases()),
                         [](const ::testing::TestParamInfo<AugmentCase>& p) { return p.param.name; });

class CacheAugmentationErrors : public GpuTest {};

TEST_F(CacheAugmentationErrors, ACoprocessorOfAnotherShapeAndBadEmbeddingsAreRefused) {
  const Model decoder_model = load(small_model_spec(GgmlType::f16, 1), "decoder");
  auto other = small_model_spec(GgmlType::f16, 2);
  other.n_layers = 3;
  const Model other_model = load(other, "three_layers");
  const HostWeights dh = host_weights(decoder_model), oh = host_weights(other_model);
  GpuWeights dw(gpu(), dh), ow(gpu(), oh);
  KvPool pool(gpu(), {dh.config.layers, dh.config.kv_heads, dh.config.head_dim, 16}, 16);
  KvSequence seq(gpu(), pool, 64);
  lagvk::Forward decoder(gpu(), dw, 8), wrong(gpu(), ow, 8);
  (void)decoder.eval(seq, kPrompt, iota_positions(0, kPrompt.size()));
  const auto soft = random_floats(2 * dh.config.dim, 5);
  const auto [shape, shape_message] =
      error_of([&] { (void)augment_cache(wrong, decoder, pool, seq, soft, 13); });
  EXPECT_EQ(shape, Errc::invalid_argument);
  EXPECT_NE(shape_message.find("decoder's architecture"), std::string::npos) << shape_message;

  const auto ragged = random_floats(dh.config.dim + 3, 6);
  EXPECT_EQ(error_of([&] { (void)augment_cache(decoder, decoder, pool, seq, ragged, 13); }).first,
            Errc::invalid_argument);
  std::vector<float> nan_row(dh.config.dim, 0.0f);
  nan_row[3] = std::numeric_limits<float>::quiet_NaN();
  const std::int32_t pos = 13;
  EXPECT_EQ(error_of([&] { (void)decoder.eval_embeddings(seq, nan_row, std::span(&pos, 1)); }).first,
            Errc::bad_input);
  EXPECT_EQ(seq.length(), kPrompt.size()) << "a refused pass appends nothing";
}

}  // namespace
}  // namespace lagvk::test
