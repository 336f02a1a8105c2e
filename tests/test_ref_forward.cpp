// The CPU reference forward pass: against an independent, hand-written computation of a one-layer
// model; prefill vs. incremental decode; quantized vs. f32 weights; and the peakedness of generated
// models that makes greedy comparisons meaningful.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/core/error.hpp"
#include "engine/model/model.hpp"
#include "engine/model/random_model.hpp"
#include "engine/ref/forward.hpp"

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
