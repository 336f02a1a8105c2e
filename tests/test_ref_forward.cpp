// The CPU reference forward pass: against an independent, hand-written computation of a one-layer
// model; prefill vs. incremental decode; quantized vs. f32 weights; and the peakedness of generated
// models that makes greedy comparisons meaningful. The configuration and weights both forward passes
// share (read_model_config, Model's tensor views) are checked against llama.cpp's gguf-py reader.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>

#include "engine/core/error.hpp"
#include "engine/model/model.hpp"
#include "engine/model/random_model.hpp"
#include "engine/ref/forward.hpp"
#include "tests/support/gguf_ref.hpp"
#include "tests/support/references.hpp"

namespace lagvk {
namespace {

Model build(const RandomModelSpec& s) {
  return Model::from_gguf(GgufFile::from_bytes(make_random_model(s).to_bytes()));
}

RandomModelSpec tiny_spec() {
  RandomModelSpec s;
  s.n_layers = 1;
  s.n_embd = 32;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 64;
  s.n_vocab = 320;
  s.n_ctx = 64;
  s.rope_freq_base = 100.0f;
  s.seed = 11;
  return s;
}

std::vector<double> rms_normed(const std::vector<double>& x, const std::vector<float>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
  return y;
}

// y[o] = sum_i W[o][i] x[i], W stored as rows of length in.
std::vector<double> times(const std::vector<float>& w, const std::vector<double>& x, std::size_t out) {
  std::vector<double> y(out, 0.0);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t i = 0; i < x.size(); ++i) y[o] += double(w[o * x.size() + i]) * x[i];
  return y;
}

// Written from the formulas, sharing no code with engine/ref, for one llama layer.
std::vector<std::vector<double>> direct_logits(const Model& m, const std::vector<std::int32_t>& tokens) {
  const auto& c = m.config();
  const auto& w = m.weights();
  const auto& l = w.layers.at(0);
  const auto E = w.token_embd.to_float(), On = w.output_norm.to_float(), Out = w.output.to_float();
  const auto An = l.attn_norm.to_float(), Wq = l.wq.to_float(), Wk = l.wk.to_float(), Wv = l.wv.to_float(),
             Wo = l.wo.to_float(), Fn = l.ffn_norm.to_float(), Wg = l.ffn_gate.to_float(),
             Wu = l.ffn_up.to_float(), Wd = l.ffn_down.to_float();
  const std::size_t D = c.n_embd, hd = c.head_dim, H = c.n_head, Hkv = c.n_head_kv, F = c.n_ff;
  std::vector<std::vector<double>> keys, values, logits;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    std::vector<double> x(D);
    for (std::size_t i = 0; i < D; ++i) x[i] = E[std::size_t(tokens[t]) * D + i];
    const auto h = rms_normed(x, An, c.rms_eps);
    auto q = times(Wq, h, H * hd), k = times(Wk, h, Hkv * hd), v = times(Wv, h, Hkv * hd);
    // RoPE, normal mode: pairs (2i, 2i+1) of each head turn by pos * base^(-2i/hd).
    auto rotate = [&](std::vector<double>& vec, std::size_t heads) {
      for (std::size_t hh = 0; hh < heads; ++hh)
        for (std::size_t i = 0; i < hd / 2; ++i) {
          const double th = double(t) * std::pow(double(c.rope_freq_base), -2.0 * double(i) / double(hd));
          double& a = vec[hh * hd + 2 * i];
          double& b = vec[hh * hd + 2 * i + 1];
          const double a0 = a, b0 = b;
          a = a0 * std::cos(th) - b0 * std::sin(th);
          b = a0 * std::sin(th) + b0 * std::cos(th);
        }
    };
    rotate(q, H);
    rotate(k, Hkv);
    keys.push_back(k);
    values.push_back(v);
    std::vector<double> att(H * hd, 0.0);
    for (std::size_t hh = 0; hh < H; ++hh) {
      const std::size_t kh = hh / (H / Hkv);
      std::vector<double> p(t + 1);
      double mx = -1e300, sum = 0;
      for (std::size_t j = 0; j <= t; ++j) {
        double dot = 0;
        for (std::size_t d = 0; d < hd; ++d) dot += q[hh * hd + d] * keys[j][kh * hd + d];
        p[j] = dot / std::sqrt(double(hd));
        mx = std::max(mx, p[j]);
      }
      for (auto& s : p) sum += (s = std::exp(s - mx));
      for (std::size_t j = 0; j <= t; ++j)
        for (std::size_t d = 0; d < hd; ++d) att[hh * hd + d] += p[j] / sum * values[j][kh * hd + d];
    }
    const auto o = times(Wo, att, D);
    for (std::size_t i = 0; i < D; ++i) x[i] += o[i];
    const auto h2 = rms_normed(x, Fn, c.rms_eps);
    const auto g = times(Wg, h2, F), u = times(Wu, h2, F);
    std::vector<double> a(F);
    for (std::size_t i = 0; i < F; ++i) a[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
    const auto down = times(Wd, a, D);
    for (std::size_t i = 0; i < D; ++i) x[i] += down[i];
    logits.push_back(times(Out, rms_normed(x, On, c.rms_eps), c.n_vocab));
  }
  return logits;
}

TEST(RefForward, MatchesDirectComputationOfOneLayer) {
  const auto m = build(tiny_spec());
  const std::vector<std::int32_t> tokens = {1, 270, 5, 259, 100};
  const auto expected = direct_logits(m, tokens);
  ref::RefModel r(m);
  const auto got = r.forward(tokens);
  ASSERT_EQ(got.size(), tokens.size() * 320);
  double worst = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t)
    for (std::size_t i = 0; i < 320; ++i)
      worst = std::max(worst, std::fabs(got[t * 320 + i] - expected[t][i]));
  EXPECT_LT(worst, 1e-4);
  EXPECT_EQ(r.n_past(), tokens.size());
}

std::vector<float> decode_one_by_one(ref::RefModel& r, const std::vector<std::int32_t>& tokens) {
  std::vector<float> all;
  for (auto t : tokens) {
    const std::int32_t one[] = {t};
    const auto l = r.forward(one);
    all.insert(all.end(), l.begin(), l.end());
  }
  return all;
}

double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double ss = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ss += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(ss / double(a.size()));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
  return worst;
}

TEST(RefForward, PrefillEqualsIncrementalDecodeForEveryArchitecture) {
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    auto s = tiny_spec();
    s.arch = arch;
    s.n_layers = 2;
    s.rope_factors = std::string(arch) == "llama";
    const auto m = build(s);
    ref::RefModel r(m);
    const std::vector<std::int32_t> tokens = {1, 300, 17, 42, 259, 7, 8};
    const auto prefill = r.forward(tokens);
    r.reset();
    // Mixed: a 3-token prefill, then one token at a time.
    const auto first = r.forward(std::span(tokens).first(3));
    auto rest = decode_one_by_one(r, std::vector<std::int32_t>(tokens.begin() + 3, tokens.end()));
    std::vector<float> mixed = first;
    mixed.insert(mixed.end(), rest.begin(), rest.end());
    ASSERT_EQ(mixed.size(), prefill.size());
    EXPECT_LT(max_abs_diff(prefill, mixed), 1e-4) << arch;
  }
}

TEST(RefForward, RopeFactorsChangeOnlyLaterPositions) {
  auto s = tiny_spec();
  s.rope_freq_base = 500000.0f;  // long wavelengths, so the llama3 factors are not all 1
  const auto plain = build(s);
  s.rope_factors = true;
  const auto scaled = build(s);
  ref::RefModel a(plain), b(scaled);
  const std::vector<std::int32_t> tokens = {1, 300, 17, 42};
  const auto la = a.forward(tokens), lb = b.forward(tokens);
  const std::size_t V = 320;
  // Position 0 rotates by zero, and one token attends only to itself: identical.
  EXPECT_LT(max_abs_diff({la.begin(), la.begin() + V}, {lb.begin(), lb.begin() + V}), 1e-6);
  EXPECT_GT(max_abs_diff({la.begin() + 3 * V, la.end()}, {lb.begin() + 3 * V, lb.end()}), 1e-3);
}

TEST(RefForward, ActivationHookSeesEveryStepInOrder) {
  auto s = tiny_spec();
  s.n_layers = 2;
  const auto m = build(s);
  ref::RefModel r(m);
  std::vector<std::string> names;
  std::vector<float> last;
  r.set_activation_hook([&](std::string_view name, std::span<const float> v) {
    names.emplace_back(name);
    last.assign(v.begin(), v.end());
  });
  const std::vector<std::int32_t> tokens = {1, 2, 3};
  const auto logits = r.forward(tokens);
  ASSERT_EQ(names.size(), 1 + 2 * 11 + 2u);  // 11 activations a layer
  EXPECT_EQ(names.front(), "inp_embd");
  EXPECT_EQ(names[1], "blk.0.attn_norm");
  EXPECT_EQ(names[12], "blk.1.attn_norm");
  EXPECT_EQ(names[22], "blk.1.l_out");
  EXPECT_EQ(names.back(), "result_output");
  EXPECT_EQ(last, logits);
}

TEST(RefForward, RejectsTokensOutsideTheVocabulary) {
  const auto m = build(tiny_spec());
  ref::RefModel r(m);
  const std::int32_t bad[] = {320};
  EXPECT_THROW((void)r.forward(bad), Error);
  const std::int32_t neg[] = {-1};
  EXPECT_THROW((void)r.forward(neg), Error);
}

struct Stats {
  double mean_top1 = 0;
  std::vector<std::int32_t> greedy;
};

// Greedy generation of n tokens after a short prompt; the mean probability of the chosen token.
Stats greedy_stats(const Model& m, std::size_t n) {
  ref::RefModel r(m);
  std::vector<std::int32_t> prompt = {1, 300, 301, 302};
  auto logits = r.forward(prompt);
  const std::size_t V = m.config().n_vocab;
  Stats st;
  std::vector<float> last(logits.end() - std::ptrdiff_t(V), logits.end());
  for (std::size_t i = 0; i < n; ++i) {
    const auto best = std::size_t(std::max_element(last.begin(), last.end()) - last.begin());
    double sum = 0;
    for (float v : last) sum += std::exp(double(v) - double(last[best]));
    st.mean_top1 += 1.0 / sum / double(n);
    st.greedy.push_back(std::int32_t(best));
    const std::int32_t one[] = {std::int32_t(best)};
    last = r.forward(one);
  }
  return st;
}

RandomModelSpec medium_spec(GgmlType type) {
  RandomModelSpec s;  // the make-model defaults: 4 layers, 256 wide, 8/4 heads, ff 512, vocab 1024
  s.type = type;
  return s;
}

// The default make-model shape is big enough that prefill splits its products over threads while
// one-token decode does not; every logit is the same ordered sum either way, so they agree exactly.
TEST(RefForward, ThreadedPrefillEqualsDecodeExactly) {
  const auto m = build(medium_spec(GgmlType::q8_0));
  ref::RefModel r(m);
  std::vector<std::int32_t> tokens;
  for (int i = 0; i < 20; ++i) tokens.push_back(259 + (i * 53) % 700);
  const auto prefill = r.forward(tokens);
  r.reset();
  EXPECT_EQ(decode_one_by_one(r, tokens), prefill);
}

TEST(RefForward, GeneratedModelsArePeaked) {
  for (std::uint64_t seed : {1, 2}) {
    auto s = medium_spec(GgmlType::f32);
    s.seed = seed;
    const auto st = greedy_stats(build(s), 16);
    std::printf("seed %llu: mean top-1 probability over 16 greedy steps %.3f\n", (unsigned long long)seed,
                st.mean_top1);
    EXPECT_GT(st.mean_top1, 0.5);
    // Not a degenerate repeat of one token.
    std::set<std::int32_t> distinct(st.greedy.begin(), st.greedy.end());
    EXPECT_GT(distinct.size(), 3u);
  }
}

TEST(RefForward, QuantizedModelsStayCloseToF32) {
  const auto f32 = build(medium_spec(GgmlType::f32));
  ref::RefModel rf(f32);
  std::vector<std::int32_t> tokens = {1};
  for (int i = 0; i < 15; ++i) tokens.push_back(259 + (i * 37) % 700);
  const auto ref_logits = rf.forward(tokens);
  double ss = 0;
  for (float v : ref_logits) ss += double(v) * v;
  const double rms = std::sqrt(ss / double(ref_logits.size()));
  const std::size_t V = 1024;
  // RMS error bounds relative to the logits' RMS, and how many of the 16 argmaxes must agree with f32.
  // Random guessing would agree at 1/1024 of the positions; 4-bit weights move logits by ~17% of their
  // spread, enough to swap close leaders, so only a quarter is required of them.
  struct Case {
    GgmlType type;
    double bound;
    std::size_t min_agree;
  };
  for (auto [type, bound, min_agree] :
       {Case{GgmlType::f16, 0.002, 15}, Case{GgmlType::bf16, 0.01, 14}, Case{GgmlType::q8_0, 0.02, 14},
        Case{GgmlType::q6_k, 0.06, 12}, Case{GgmlType::q5_k, 0.12, 8}, Case{GgmlType::q4_k, 0.25, 4},
        Case{GgmlType::q4_0, 0.25, 4}}) {
    const auto q = build(medium_spec(type));
    ref::RefModel rq(q);
    const auto l = rq.forward(tokens);
    std::size_t agree = 0;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      auto row = [&](const std::vector<float>& x) { return x.begin() + std::ptrdiff_t(t * V); };
      agree += std::max_element(row(l), row(l) + V) - row(l) ==
               std::max_element(row(ref_logits), row(ref_logits) + V) - row(ref_logits);
    }
    const double rel = rms_diff(l, ref_logits) / rms;
    std::printf(
        "%s: logit error rms / logit rms %.4f (max abs error %.3f, logit rms %.3f), argmax agreement "
        "%zu/%zu\n",
        ggml_type_name(type).c_str(), rel, max_abs_diff(l, ref_logits), rms, agree, tokens.size());
    EXPECT_LT(rel, bound) << ggml_type_name(type);
    EXPECT_GE(agree, min_agree) << ggml_type_name(type);
  }
}

}  // namespace
}  // namespace lagvk

namespace lagvk::test {
namespace {

// The GPU forward pass and this CPU reference read the same ModelConfig and the same TensorViews, so a
// mistake in reading qwen2/qwen3 switches or rope settings would be shared by both and invisible to
// their comparison. Here an outside reader (gguf-py) reads the same files: every hyper-parameter lagvk
// derives must be what the metadata says (with llama.cpp's defaults for absent keys), the architecture
// switches must follow the tensors present, and every tensor must decode to gguf-py's values.
struct ConfigCase {
  std::string name;
  RandomModelSpec spec;
  std::function<void(GgufWriter&)> extra;  ///< metadata a random model does not write by itself
};

void PrintTo(const ConfigCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<ConfigCase> config_cases() {
  auto base = [](const char* arch, GgmlType type, std::uint32_t dim, std::uint32_t heads, std::uint32_t kv,
                 std::uint64_t seed) {
    RandomModelSpec s;
    s.arch = arch;
    s.type = type;
    s.n_layers = 2;
    s.n_embd = dim;
    s.n_head = heads;
    s.n_head_kv = kv;
    s.n_ff = 512;
    s.n_vocab = 300;
    s.n_ctx = 640;
    s.seed = seed;
    return s;
  };
  std::vector<ConfigCase> out;
  auto factors = base("llama", GgmlType::q4_k, 256, 8, 2, 51);
  factors.rope_factors = true;
  factors.rope_freq_base = 500000.0f;
  factors.rms_eps = 1e-6f;
  out.push_back({"llama_Q4_K_rope_factors", factors, {}});
  out.push_back(
      {"llama_Q5_K_linear_rope_partial", base("llama", GgmlType::q5_k, 256, 4, 4, 52), [](GgufWriter& w) {
         w.set_string("llama.rope.scaling.type", "linear");
         w.set_f32("llama.rope.scaling.factor", 4.0f);
         w.set_u32("llama.rope.dimension_count", 32);
       }});
  auto qwen2 = base("qwen2", GgmlType::q8_0, 128, 4, 2, 53);
  qwen2.rope_freq_base = 1000000.0f;
  out.push_back({"qwen2_Q8_0", qwen2, {}});
  auto qwen2_tied = base("qwen2", GgmlType::q4_0, 128, 2, 1, 54);
  qwen2_tied.tied_output = true;
  out.push_back({"qwen2_Q4_0_tied", qwen2_tied, {}});
  out.push_back({"qwen3_Q6_K", base("qwen3", GgmlType::q6_k, 256, 8, 4, 55), {}});
  out.push_back({"qwen3_BF16", base("qwen3", GgmlType::bf16, 128, 4, 2, 56), {}});
  return out;
}

class IndependentReader : public ::testing::TestWithParam<ConfigCase> {};

/// gguf-py's value of `key` as T, or `fallback` (llama.cpp's default) when the file lacks it.
template <typename T>
T kv_or(const nlohmann::json& kv, const std::string& key, T fallback) {
  return kv.contains(key) ? kv.at(key).get<T>() : fallback;
}

bool has_tensor(const GgufRefModel& ref, const std::string& name) {
  return ref.values.count(name) != 0;
}

TEST_P(IndependentReader, ConfigAndWeightsMatchGgufPy) {
  if (!gguf_ref_available()) LAGVK_REFERENCE_MISSING(gguf_ref_unavailable_reason());
  const ConfigCase& c = GetParam();
  const auto path =
      std::filesystem::path(::testing::TempDir()) / (c.name + "_" + std::to_string(::getpid()) + ".gguf");
  auto writer = make_random_model(c.spec);
  if (c.extra) c.extra(writer);
  writer.write(path.string());
  const Model model = Model::open(path.string());
  const GgufRefModel ref = gguf_ref_read_model(path);
  std::filesystem::remove(path);
  const ModelConfig& cfg = model.config();
  const nlohmann::json& kv = ref.kv;

  const std::string arch = kv.at("general.architecture");
  const std::string p = arch + ".";
  EXPECT_EQ(cfg.arch, arch);
  EXPECT_EQ(cfg.n_layers, kv.at(p + "block_count").get<std::uint32_t>());
  EXPECT_EQ(cfg.n_embd, kv.at(p + "embedding_length").get<std::uint32_t>());
  EXPECT_EQ(cfg.n_ff, kv.at(p + "feed_forward_length").get<std::uint32_t>());
  EXPECT_EQ(cfg.n_head, kv.at(p + "attention.head_count").get<std::uint32_t>());
  EXPECT_EQ(cfg.n_head_kv, kv_or<std::uint32_t>(kv, p + "attention.head_count_kv", cfg.n_head));
  EXPECT_EQ(cfg.n_ctx_train, kv.at(p + "context_length").get<std::uint32_t>());
  EXPECT_EQ(cfg.rms_eps, kv.at(p + "attention.layer_norm_rms_epsilon").get<float>());
  const std::uint32_t head_dim =
      kv_or<std::uint32_t>(kv, p + "attention.key_length", cfg.n_embd / cfg.n_head);
  EXPECT_EQ(cfg.head_dim, head_dim);
  EXPECT_EQ(cfg.rope_freq_base, kv_or<float>(kv, p + "rope.freq_base", 10000.0f));
  EXPECT_EQ(cfg.rope_dims, kv_or<std::uint32_t>(kv, p + "rope.dimension_count", head_dim));
  const std::string scaling = kv_or<std::string>(kv, p + "rope.scaling.type", "none");
  const float factor = kv_or<float>(kv, p + "rope.scaling.factor", 1.0f);
  EXPECT_EQ(cfg.rope_scaling, scaling == "linear" ? RopeScaling::linear : RopeScaling::none);
  EXPECT_EQ(cfg.rope_scaling_factor, factor);
  // Linear scaling divides positions by the factor (llama.cpp's freq_scale = 1 / factor).
  EXPECT_EQ(cfg.rope_params().freq_scale, scaling == "linear" ? 1.0f / factor : 1.0f);
  EXPECT_EQ(cfg.rope_params().rot_dims, cfg.rope_dims);
  EXPECT_EQ(cfg.rope_params().freq_base, cfg.rope_freq_base);

  // Architecture switches, from llama.cpp's own architecture table: qwen2 and qwen3 rotate NeoX-style
  // (halves), llama rotates adjacent pairs; qwen2 has q/k/v biases, qwen3 per-head q/k norms.
  EXPECT_EQ(cfg.traits.rope_mode, arch == "llama" ? ref::RopeMode::normal : ref::RopeMode::neox);
  EXPECT_EQ(cfg.traits.qkv_bias, has_tensor(ref, "blk.0.attn_q.bias"));
  EXPECT_EQ(cfg.traits.qk_norm, has_tensor(ref, "blk.0.attn_q_norm.weight"));
  EXPECT_EQ(cfg.traits.qkv_bias, arch == "qwen2");
  EXPECT_EQ(cfg.traits.qk_norm, arch == "qwen3");
  EXPECT_EQ(cfg.tied_output, !has_tensor(ref, "output.weight"));
  EXPECT_EQ(cfg.has_rope_freqs, has_tensor(ref, "rope_freqs.weight"));
  EXPECT_EQ(cfg.has_rope_freqs, c.spec.rope_factors);

  // Every tensor: the same shape, and the same values from lagvk's decoder as from gguf-py's.
  ASSERT_EQ(ref.tensors.size(), model.gguf().tensors().size());
  for (const auto& t : ref.tensors) {
    const std::string name = t.at("name");
    const TensorView view = model.tensor(name);
    std::vector<std::uint64_t> shape;
    for (const auto& d : t.at("shape")) shape.push_back(d.get<std::uint64_t>());
    EXPECT_EQ(view.ne, shape) << name;
    EXPECT_EQ(ggml_type_name(view.type), t.at("type").get<std::string>()) << name;
    const auto ours = view.to_float();
    const auto& theirs = ref.values.at(name);
    ASSERT_EQ(ours.size(), theirs.size()) << name;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) differ += ours[i] != theirs[i];
    EXPECT_EQ(differ, 0u) << name << ": " << differ << " of " << ours.size()
                          << " values differ from gguf-py's";
  }
  // The forward passes' bindings name the tensors llama.cpp uses for each role.
  const ModelWeights& w = model.weights();
  EXPECT_EQ(w.output.name, cfg.tied_output ? "token_embd.weight" : "output.weight");
  ASSERT_EQ(w.rope_freqs.has_value(), cfg.has_rope_freqs);
  if (w.rope_freqs) {
    EXPECT_EQ(w.rope_freqs->n_elements(), cfg.rope_dims / 2);
    EXPECT_EQ(w.rope_freqs->to_float(), ref.values.at("rope_freqs.weight"));
  }
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const LayerWeights& l = w.layers[i];
    EXPECT_EQ(l.wq.name, b + "attn_q.weight");
    EXPECT_EQ(l.wk.name, b + "attn_k.weight");
    EXPECT_EQ(l.wv.name, b + "attn_v.weight");
    EXPECT_EQ(l.wo.name, b + "attn_output.weight");
    EXPECT_EQ(l.ffn_gate.name, b + "ffn_gate.weight");
    EXPECT_EQ(l.ffn_up.name, b + "ffn_up.weight");
    EXPECT_EQ(l.ffn_down.name, b + "ffn_down.weight");
    EXPECT_EQ(l.bq.has_value() ? l.bq->name : "", cfg.traits.qkv_bias ? b + "attn_q.bias" : "");
    EXPECT_EQ(l.k_norm.has_value() ? l.k_norm->name : "", cfg.traits.qk_norm ? b + "attn_k_norm.weight" : "");
  }
}

INSTANTIATE_TEST_SUITE_P(Models, IndependentReader, ::testing::ValuesIn(config_cases()),
                         [](const ::testing::TestParamInfo<ConfigCase>& p) { return p.param.name; });

}  // namespace
}  // namespace lagvk::test
