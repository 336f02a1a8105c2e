// The GPU forward pass against the CPU reference forward (engine/ref/forward) on small random models of
// every weight type and several shapes: multi-head and grouped-query attention, odd feed-forward sizes,
// tied and untied output, llama3 rope factors, qwen2 and qwen3 switches. Prefill logits for every prompt
// token and then decode steps must agree within tolerance, and greedy choices must match except at
// near-ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/core/error.hpp"
#include "engine/forward/forward.hpp"
#include "engine/forward/model_weights.hpp"
#include "engine/model/random_model.hpp"
#include "engine/ref/forward.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/models.hpp"
#include "tests/support/sanitizer.hpp"

namespace lagvk::test {
namespace {

struct ForwardCase {
  std::string name;
  RandomModelSpec spec;
  double tolerance;  ///< normalised logit error (fp16 KV cache on the GPU, fp32 on the CPU)
};

void PrintTo(const ForwardCase& c, std::ostream* os) {
  *os << c.name;
}

RandomModelSpec spec(GgmlType type, std::uint32_t layers, std::uint32_t dim, std::uint32_t heads,
                     std::uint32_t kv_heads, std::uint32_t ff, std::uint32_t vocab) {
  return model_spec(type, layers, dim, heads, kv_heads, ff, vocab, 7 + layers + dim + ff);
}

std::vector<ForwardCase> forward_cases() {
  std::vector<ForwardCase> cases;
  for (auto [type, tol] : std::vector<std::pair<GgmlType, double>>{
           {GgmlType::f32, 1e-3}, {GgmlType::f16, 1e-3}, {GgmlType::q8_0, 1e-3}, {GgmlType::q4_0, 1e-3}}) {
    const std::string t = ggml_type_name(type);
    cases.push_back({t + "_gqa", spec(type, 2, 128, 4, 2, 320, 300), tol});
    auto mha = spec(type, 3, 96, 3, 3, 224, 277);
    mha.tied_output = true;
    cases.push_back({t + "_mha_tied", mha, tol});
  }
  cases.push_back({"BF16_gqa", spec(GgmlType::bf16, 2, 128, 4, 2, 320, 300), 1e-3});
  auto bf16_tied = spec(GgmlType::bf16, 3, 96, 3, 3, 224, 277);
  bf16_tied.tied_output = true;
  cases.push_back({"BF16_mha_tied", bf16_tied, 1e-3});
  // K-quants need widths (dim, ff, heads x head_dim) that are multiples of their 256-element blocks.
  for (GgmlType type : {GgmlType::q4_k, GgmlType::q5_k, GgmlType::q6_k}) {
    const std::string t = ggml_type_name(type);
    cases.push_back({t + "_gqa", spec(type, 2, 256, 4, 2, 512, 300), 1e-3});
    auto mha = spec(type, 2, 256, 2, 2, 768, 277);
    mha.tied_output = true;
    cases.push_back({t + "_mha_tied", mha, 1e-3});
  }
  auto factors = spec(GgmlType::f16, 2, 128, 8, 1, 352, 290);  // GQA 8, llama3 rope factors
  factors.rope_factors = true;
  factors.rope_freq_base = 500000.0f;
  cases.push_back({"F16_gqa8_rope_factors", factors, 1e-3});
  auto qwen2 = spec(GgmlType::f32, 2, 128, 4, 2, 288, 300);
  qwen2.arch = "qwen2";
  cases.push_back({"qwen2_F32", qwen2, 1e-3});
  auto qwen3 = spec(GgmlType::q8_0, 2, 128, 4, 2, 256, 300);
  qwen3.arch = "qwen3";
  cases.push_back({"qwen3_Q8_0", qwen3, 1e-3});
  auto qwen2_k = spec(GgmlType::q4_k, 2, 256, 4, 2, 512, 300);
  qwen2_k.arch = "qwen2";
  cases.push_back({"qwen2_Q4_K", qwen2_k, 1e-3});
  auto qwen3_k = spec(GgmlType::q6_k, 2, 256, 8, 4, 768, 300);
  qwen3_k.arch = "qwen3";
  cases.push_back({"qwen3_Q6_K", qwen3_k, 1e-3});
  // gemma2: a window of 8 that the 13-token prompt and the decode steps cross on the sliding layers, and
  // caps that bend most scores and logits (the random scores are of order 1, the logits of order 8).
  auto gemma2 = spec(GgmlType::f16, 3, 128, 4, 2, 288, 300);
  gemma2.arch = "gemma2";
  gemma2.sliding_window = 8;
  gemma2.attn_softcap = 1.5f;
  gemma2.final_softcap = 6.0f;
  cases.push_back({"gemma2_F16_window8_softcaps", gemma2, 1e-3});
  // gemma3: five sliding layers (window 8, base 10000) to one global layer (base 1e6, linear factor 8).
  auto gemma3 = spec(GgmlType::f16, 6, 64, 2, 1, 128, 300);
  gemma3.arch = "gemma3";
  gemma3.sliding_window = 8;
  gemma3.rope_freq_base = 1000000.0f;
  gemma3.rope_linear_factor = 8.0f;
  cases.push_back({"gemma3_F16_window8_rope_bases", gemma3, 1e-3});
  // phi3: fused tensors and LongRoPE (the 2048-token training context exceeds the original 1024: long
  // factors, attention factor 1.05).
  auto phi3 = spec(GgmlType::q8_0, 2, 128, 4, 2, 256, 300);
  phi3.arch = "phi3";
  phi3.rope_factors = true;
  phi3.rope_original_context = 1024;
  cases.push_back({"phi3_Q8_0_longrope", phi3, 1e-3});
  return cases;
}

std::size_t argmax(std::span<const float> v) {
  return std::size_t(std::max_element(v.begin(), v.end()) - v.begin());
}

double softmax_prob(std::span<const float> logits, std::size_t i) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l - mx));
  return std::exp(double(logits[i] - mx)) / sum;
}

class Forward : public GpuTest, public ::testing::WithParamInterface<ForwardCase> {};

TEST_P(Forward, MatchesCpuReference) {
  const ForwardCase& c = GetParam();
  Model model = Model::from_gguf(GgufFile::from_bytes(make_random_model(c.spec).to_bytes(), c.name));
  ref::RefModel reference(model);
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 64);
  KvSequence seq(gpu(), pool, 512);
  lagvk::Forward forward(gpu(), weights, /*max_batch=*/8);  // a 13-token prompt spans two batches

  std::vector<std::int32_t> prompt = {1, 17, 260, 261, 5, 99, 123, 45, 200, 201, 202, 7, 259};
  std::vector<std::int32_t> positions(prompt.size());
  for (std::size_t i = 0; i < prompt.size(); ++i) positions[i] = std::int32_t(i);
  const auto gpu_logits = forward.eval(seq, prompt, positions, /*all_logits=*/true);
  const auto ref_logits = reference.forward(prompt);
  const ErrorStats prefill = compare(gpu_logits, ref_logits);
  std::printf("%-28s prefill: max_abs %.3e normalised %.3e\n", c.name.c_str(), prefill.max_abs,
              prefill.max_rel);
  EXPECT_TRUE(prefill.finite);
  EXPECT_LE(prefill.max_rel, c.tolerance);

  const std::size_t V = host.config.vocab;
  std::int32_t next = std::int32_t(argmax(std::span<const float>(ref_logits).subspan(ref_logits.size() - V)));
  double worst = 0;
  for (int step = 0; step < 6; ++step) {
    const std::int32_t pos = std::int32_t(seq.length());
    const auto g =
        forward.eval(seq, std::span<const std::int32_t>(&next, 1), std::span<const std::int32_t>(&pos, 1));
    const auto r = reference.forward(std::span<const std::int32_t>(&next, 1));
    const ErrorStats e = compare(g, r);
    worst = std::max(worst, e.max_rel);
    EXPECT_LE(e.max_rel, c.tolerance) << "decode step " << step;
    const std::size_t gi = argmax(g), ri = argmax(r);
    if (gi != ri) {
      EXPECT_GE(softmax_prob(r, gi), 0.8 * softmax_prob(r, ri)) << "greedy choice differs at step " << step;
      next = std::int32_t(ri);
    }
  }
  std::printf("%-28s decode: worst normalised %.3e\n", c.name.c_str(), worst);
}

// Continuous batching: one pass holds three sequences at different lengths (a decode step of two, a
// prompt chunk of the third), then decode steps of all three; each segment's logits must be those of its
// own sequence alone (a CPU reference per sequence), so no row reads another sequence's cache.
TEST_P(Forward, SegmentsOfSeveralSequencesMatchEachAlone) {
  const ForwardCase& c = GetParam();
  Model model = Model::from_gguf(GgufFile::from_bytes(make_random_model(c.spec).to_bytes(), c.name));
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 96);
  lagvk::Forward forward(gpu(), weights, /*max_batch=*/16);
  const std::vector<std::vector<std::int32_t>> prompts = {
      {1, 17, 260, 261, 5}, {3, 99, 123, 45, 200, 201, 202, 7, 259, 11, 12, 13, 14, 15, 16, 18, 19}, {}};
  std::vector<std::unique_ptr<ref::RefModel>> refs;
  std::vector<std::unique_ptr<KvSequence>> seqs;
  for (const auto& p : prompts) {
    refs.push_back(std::make_unique<ref::RefModel>(model));
    seqs.push_back(std::make_unique<KvSequence>(gpu(), pool, 256));
    if (p.empty()) continue;
    std::vector<std::int32_t> positions(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) positions[i] = std::int32_t(i);
    (void)forward.eval(*seqs.back(), p, positions);
    (void)refs.back()->forward(p);
  }
  const std::size_t V = host.config.vocab;
  const std::vector<std::vector<std::vector<std::int32_t>>> passes = {
      {{42}, {43}, {2, 50, 51, 52, 53}},  // two decode steps beside a prompt chunk
      {{44}, {45}, {54}},
      {{46}, {47}, {55}}};
  double worst = 0;
  for (std::size_t pass = 0; pass < passes.size(); ++pass) {
    std::vector<ForwardSegment> segments;
    std::vector<std::int32_t> tokens, positions;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      segments.push_back({seqs[i].get(), std::uint32_t(passes[pass][i].size())});
      for (std::size_t j = 0; j < passes[pass][i].size(); ++j) {
        tokens.push_back(passes[pass][i][j]);
        positions.push_back(std::int32_t(seqs[i]->length() + j));
      }
    }
    const auto logits = forward.eval_segments(segments, tokens, positions);
    ASSERT_EQ(logits.size(), seqs.size() * V);
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      const auto r = refs[i]->forward(passes[pass][i]);
      const auto g = std::span<const float>(logits).subspan(i * V, V);
      const ErrorStats e = compare(std::vector<float>(g.begin(), g.end()),
                                   std::vector<float>(r.end() - std::ptrdiff_t(V), r.end()));
      worst = std::max(worst, e.max_rel);
      EXPECT_LE(e.max_rel, c.tolerance) << "pass " << pass << ", sequence " << i;
    }
  }
  std::printf("%-28s batched: worst normalised %.3e\n", c.name.c_str(), worst);
}

// A decode step projects q, k and v with one matrix-vector dispatch over weights stacked in one buffer, and
// gate and up with another whose epilogue applies the activation. The stacked rows go through the same
// kernel variant as the separate tensors and the activation is the same expression, so the logits must be
// bit for bit those of the same model loaded with every tensor apart, with four dispatches fewer per layer;
// prefill reads the stacked parts through views at their offsets.
TEST_P(Forward, StackedProjectionsDecodeAsSeparateOnes) {
  const ForwardCase& c = GetParam();
  Model model = Model::from_gguf(GgufFile::from_bytes(make_random_model(c.spec).to_bytes(), c.name));
  const HostWeights host = host_weights(model);
  GpuWeights stacked(gpu(), host);
  GpuWeights separate(gpu(), host, {}, ProjectionStacking::separate);
  const HostLayer& l0 = host.layers[0];
  // Every random model's q, k and v (gate and up) share a format; they stack where each part starts where
  // this device binds storage buffers and texel views.
  ASSERT_EQ(l0.wq.format, l0.wk.format);
  const auto& info = gpu().info();
  const std::uint64_t align = std::max<std::uint64_t>(
      {16, info.min_storage_buffer_offset_alignment, info.min_texel_buffer_offset_alignment});
  auto part_bytes = [](const HostTensor& t) { return t.rows * row_bytes(t.format, t.cols); };
  if (part_bytes(l0.wq) % align != 0 || part_bytes(l0.wk) % align != 0 || part_bytes(l0.w_gate) % align != 0)
    GTEST_SKIP() << "this device binds at multiples of " << align << " bytes: " << c.name
                 << " does not stack";
  ASSERT_TRUE(stacked.layer(0).wqkv && stacked.layer(0).w_gate_up);
  ASSERT_FALSE(separate.layer(0).wqkv || separate.layer(0).w_gate_up);
  EXPECT_EQ(stacked.layer(0).wqkv->rows, l0.wq.rows + l0.wk.rows + l0.wv.rows);
  EXPECT_EQ(stacked.layer(0).wk.offset, l0.wq.rows * row_bytes(l0.wq.format, l0.wq.cols));
  EXPECT_EQ(stacked.layer(0).wk.storage, stacked.layer(0).wqkv->storage);

  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 64);
  KvSequence seq_stacked(gpu(), pool, 256), seq_separate(gpu(), pool, 256);
  lagvk::Forward fwd_stacked(gpu(), stacked, 8), fwd_separate(gpu(), separate, 8);
  const std::vector<std::int32_t> prompt = {1, 17, 260, 261, 5, 99, 123, 45, 200, 201, 202};
  std::vector<std::int32_t> positions(prompt.size());
  for (std::size_t i = 0; i < prompt.size(); ++i) positions[i] = std::int32_t(i);
  EXPECT_EQ(fwd_stacked.eval(seq_stacked, prompt, positions),
            fwd_separate.eval(seq_separate, prompt, positions));
  for (std::int32_t token : {42, 7, 259}) {
    const std::int32_t pos = std::int32_t(seq_stacked.length());
    const std::span<const std::int32_t> t(&token, 1), p(&pos, 1);
    EXPECT_EQ(fwd_stacked.eval(seq_stacked, t, p), fwd_separate.eval(seq_separate, t, p))
        << "token " << token;
    EXPECT_EQ(fwd_stacked.last_timings().dispatches + 4 * host.config.layers,
              fwd_separate.last_timings().dispatches);
  }
}

// A decode step applies each block's RMS norms and the final one inside the projections that read them
// (ops::InputNorm: x scaled by the norm's weight as it is loaded, 1 / rms(x) after the dot products). The
// logits must be those of separate norm kernels up to float rounding, with 2 x layers + 1 dispatches
// fewer per step; prefill keeps its norm kernels, so its logits are bit for bit the same.
TEST_P(Forward, DecodeNormsInsideProjectionsMatchSeparateNorms) {
  const ForwardCase& c = GetParam();
  Model model = Model::from_gguf(GgufFile::from_bytes(make_random_model(c.spec).to_bytes(), c.name));
  const HostWeights host = host_weights(model);
  GpuWeights weights(gpu(), host);
  KvPool pool(gpu(), {host.config.layers, host.config.kv_heads, host.config.head_dim, 16}, 64);
  KvSequence seq_fused(gpu(), pool, 256), seq_separate(gpu(), pool, 256);
  lagvk::Forward fused(gpu(), weights, 8), separate(gpu(), weights, 8);
  separate.set_input_norm_fusion(false);
  const std::vector<std::int32_t> prompt = {1, 17, 260, 261, 5, 99, 123, 45, 200, 201, 202};
  std::vector<std::int32_t> positions(prompt.size());
  for (std::size_t i = 0; i < prompt.size(); ++i) positions[i] = std::int32_t(i);
  EXPECT_EQ(fused.eval(seq_fused, prompt, positions), separate.eval(seq_separate, prompt, positions));
  EXPECT_EQ(fused.last_timings().dispatches, separate.last_timings().dispatches);
  for (std::int32_t token : {42, 7, 259}) {
    const std::int32_t pos = std::int32_t(seq_fused.length());
    const std::span<const std::int32_t> t(&token, 1), p(&pos, 1);
    const ErrorStats e = compare(fused.eval(seq_fused, t, p), separate.eval(seq_separate, t, p));
    EXPECT_TRUE(e.finite);
    EXPECT_LE(e.max_rel, 1e-4) << "token " << token << ": max_abs " << e.max_abs;
    EXPECT_EQ(fused.last_timings().dispatches + 2 * host.config.layers + 1,
              separate.last_timings().dispatches);
  }
}

/// The cases this build runs: all, or under sanitizers those of a sample of formats
/// (tests/support/sanitizer.hpp: the forward pass's host code is the same for every format).
std::vector<ForwardCase> build_cases() {
  auto all = forward_cases();
  std::erase_if(all, [](const ForwardCase& c) { return !runs_format(c.spec.type); });
  return all;
}

INSTANTIATE_TEST_SUITE_P(Models, Forward, ::testing::ValuesIn(build_cases()),
                         [](const ::testing::TestParamInfo<ForwardCase>& p) { return p.param.name; });

// gemma3 rotates its sliding-window layers with base 10000 and its global layers with the file's base and
// scaling; one RoPE for every layer (what log KV capture and splicing use) is refused for it with a clear
// error rather than given wrongly, while gemma2 (one RoPE) still gets it.
using RopePerLayer = GpuTest;

TEST_F(RopePerLayer, Gemma3HasTwoRopesAndRefusesOneForEveryLayer) {
  auto s = spec(GgmlType::f32, 6, 64, 2, 1, 128, 300);
  s.arch = "gemma3";
  s.sliding_window = 8;
  s.rope_freq_base = 1000000.0f;
  s.rope_linear_factor = 8.0f;
  const Model gemma3 = Model::from_gguf(GgufFile::from_bytes(make_random_model(s).to_bytes(), "gemma3"));
  const GpuWeights weights(gpu(), host_weights(gemma3));
  for (std::uint32_t layer : {0u, 4u}) {  // sliding layers
    EXPECT_EQ(rope_args(weights, layer).freq_base, 10000.0f) << "layer " << layer;
    EXPECT_EQ(rope_args(weights, layer).freq_scale, 1.0f) << "layer " << layer;
  }
  EXPECT_EQ(rope_args(weights, 5).freq_base, 1000000.0f);  // the global layer
  EXPECT_EQ(rope_args(weights, 5).freq_scale, 1.0f / 8.0f);
  try {
    (void)rope_args(weights);
    ADD_FAILURE() << "one RoPE for every layer of a gemma3 model";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported_model);
    EXPECT_NE(std::string(e.what()).find("gemma3"), std::string::npos) << e.what();
  }

  s.arch = "gemma2";
  const Model gemma2 = Model::from_gguf(GgufFile::from_bytes(make_random_model(s).to_bytes(), "gemma2"));
  const GpuWeights weights2(gpu(), host_weights(gemma2));
  EXPECT_EQ(rope_args(weights2).freq_base, 1000000.0f);
  EXPECT_EQ(rope_args(weights2, 0).freq_base, 1000000.0f);
}

}  // namespace
}  // namespace lagvk::test
