// lagvk against llama.cpp on the same GGUF files: for every tensor type and several shapes (multi-head
// and grouped-query attention, odd feed-forward sizes, tied and untied output, llama3 rope factors),
// lagvk's greedy tokens over 32 steps must be llama.cpp's choices, except at near-ties: llama.cpp
// teacher-forces our sequence and must give each of our tokens at least 0.8 times its top probability.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "engine/api/engine.hpp"
#include "engine/model/random_model.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/llama_peer.hpp"
#include "tests/support/models.hpp"
#include "tests/support/references.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

struct AgreementCase {
  std::string name;
  RandomModelSpec spec;
};

void PrintTo(const AgreementCase& c, std::ostream* os) {
  *os << c.name;
}

RandomModelSpec spec(GgmlType type, std::uint32_t layers, std::uint32_t dim, std::uint32_t heads,
                     std::uint32_t kv_heads, std::uint32_t ff, std::uint64_t seed) {
  RandomModelSpec s = model_spec(type, layers, dim, heads, kv_heads, ff, 512, seed);
  s.n_ctx = 256;
  return s;
}

std::vector<AgreementCase> cases() {
  std::vector<AgreementCase> out;
  out.push_back({"F32_gqa", spec(GgmlType::f32, 2, 128, 4, 2, 256, 31)});
  auto tied = spec(GgmlType::f16, 3, 96, 3, 3, 224, 32);  // multi-head, odd feed-forward, tied output
  tied.tied_output = true;
  out.push_back({"F16_mha_tied_odd_ff", tied});
  out.push_back({"Q8_0_gqa_odd_ff", spec(GgmlType::q8_0, 2, 128, 8, 2, 352, 33)});
  auto factors = spec(GgmlType::q4_0, 2, 128, 8, 1, 256, 34);  // GQA 8, llama3 rope factors
  factors.rope_factors = true;
  factors.rope_freq_base = 500000.0f;
  out.push_back({"Q4_0_gqa8_rope_factors", factors});
  // Part 2 formats and architectures (K-quants need widths that are multiples of 256).
  out.push_back({"BF16_gqa", spec(GgmlType::bf16, 2, 128, 4, 2, 256, 35)});
  out.push_back({"Q6_K_gqa", spec(GgmlType::q6_k, 2, 256, 4, 2, 512, 36)});
  out.push_back({"Q5_K_mha", spec(GgmlType::q5_k, 2, 256, 4, 4, 512, 37)});
  out.push_back({"Q4_K_gqa", spec(GgmlType::q4_k, 2, 256, 8, 2, 768, 38)});
  for (const char* arch : {"qwen2", "qwen3"}) {
    for (GgmlType type : {GgmlType::f16, GgmlType::q8_0, GgmlType::q4_k}) {
      auto s = spec(type, 2, 256, 4, 2, 512, 39 + std::uint64_t(type));
      s.arch = arch;
      out.push_back({std::string(arch) + "_" + ggml_type_name(type), s});
    }
  }
  // Realistic vocabulary sizes with a small hidden size (Qwen2.5/Qwen3: 151936, Llama 3: 128256).
  auto qwen_vocab = spec(GgmlType::q8_0, 2, 128, 4, 2, 256, 45);
  qwen_vocab.arch = "qwen2";
  qwen_vocab.n_vocab = 151936;
  out.push_back({"qwen2_Q8_0_vocab151936", qwen_vocab});
  auto llama_vocab = spec(GgmlType::q4_k, 2, 256, 4, 1, 512, 46);
  llama_vocab.n_vocab = 128256;
  llama_vocab.rope_factors = true;
  out.push_back({"Q4_K_vocab128256_rope_factors", llama_vocab});
  return out;
}

class LlamaCppAgreement : public GpuTest, public ::testing::WithParamInterface<AgreementCase> {};

TEST_P(LlamaCppAgreement, GreedyTokensAgree) {
  if (!llama_peer_available(PeerBackend::cpu))
    LAGVK_REFERENCE_MISSING(llama_peer_unavailable_reason(PeerBackend::cpu));
  const AgreementCase& c = GetParam();
  const fs::path path =
      fs::path(::testing::TempDir()) / (c.name + "_" + std::to_string(::getpid()) + ".gguf");
  make_random_model(c.spec).write(path.string());
  std::vector<std::int32_t> ours;
  const std::vector<std::int32_t> prompt = {1, 40, 41, 300, 7, 260, 99};
  {
    LoadOptions o;
    o.context = 256;
    auto engine = load_engine(path.string(), o);
    auto seq = engine->new_sequence();
    GenerateOptions g;
    g.max_tokens = 32;
    g.sampling.temperature = 0;
    g.stop_at_end_of_generation = false;  // llama.cpp's greedy run does not stop either
    ours = generate(*engine, *seq, prompt, g).tokens;
  }
  ASSERT_EQ(ours.size(), 32u);
  const PeerScore judged = llama_peer_score(path, prompt, ours);
  ASSERT_GE(judged.steps.size(), ours.size());
  int exact = 0, near_ties = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const PeerStep& s = judged.steps[i];
    if (s.token == s.top_token) {
      ++exact;
    } else {
      ++near_ties;
      EXPECT_TRUE(llama_peer_accepts(s))
          << "step " << i << ": lagvk chose " << ours[i] << " (llama.cpp p=" << s.token_prob
          << "), llama.cpp's top is " << s.top_token << " (p=" << s.top_prob << ")";
    }
  }
  std::printf("%-26s %d/32 steps are llama.cpp's argmax, %d near-ties\n", c.name.c_str(), exact, near_ties);
  fs::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaCppAgreement, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<AgreementCase>& p) { return p.param.name; });

}  // namespace
}  // namespace lagvk::test
