// The llama.cpp peer harness itself (tests/support/llama_peer.hpp + tools/peer/llama_ref.mjs):
// error reporting, greedy decoding vs teacher-forced scoring, tokenizer, CPU vs Vulkan agreement.
// Needs the peer (scripts/setup_peer.sh) and, for the model tests, `lagvk make-model`.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/llama_peer.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

const fs::path kLagvk = fs::path(LAGVK_BINARY_DIR) / "bin" / "lagvk";

const fs::path& scratch_dir() {
  static const test::ScratchDir dir("llama_peer");  // removed when the program exits
  return dir.path();
}

// A small random llama model written by `lagvk make-model`; empty path when that is unavailable.
const fs::path& tiny_model() {
  static const fs::path path = [] {
    const fs::path out = scratch_dir() / "tiny-q8_0.gguf";
    const std::string cmd = kLagvk.string() +
                            " make-model --type q8_0 --layers 2 --dim 128 --heads 4 --kv-heads 2 --ff 256"
                            " --vocab 512 -o " +
                            out.string() + " >/dev/null 2>&1";
    const int raw = std::system(cmd.c_str());
    return (raw != -1 && WIFEXITED(raw) && WEXITSTATUS(raw) == 0 && fs::exists(out)) ? out : fs::path();
  }();
  return path;
}

#define REQUIRE_PEER(backend)                                          \
  do {                                                                 \
    if (!llama_peer_available(backend)) {                              \
      LAGVK_REFERENCE_MISSING(llama_peer_unavailable_reason(backend)); \
    }                                                                  \
  } while (0)

#define REQUIRE_MODEL()                                                              \
  do {                                                                               \
    if (tiny_model().empty()) {                                                      \
      LAGVK_REFERENCE_MISSING("'" << kLagvk.string() << " make-model' unavailable"); \
    }                                                                                \
  } while (0)

const std::vector<int32_t> kPrompt{1, 40, 41, 300, 7};
PeerOptions cpu_options() {
  PeerOptions o;
  o.threads = 1;
  return o;
}

TEST(LlamaPeer, MissingModelIsAnErrorWithItsOwnCode) {
  REQUIRE_PEER(PeerBackend::cpu);
  try {
    (void)llama_peer_greedy(scratch_dir() / "does-not-exist.gguf", kPrompt, 2, cpu_options());
    FAIL() << "no error";
  } catch (const PeerError& e) {
    EXPECT_EQ(e.exit_code(), 3) << e.what();
    EXPECT_EQ(e.code(), "model_missing") << e.what();
  }
}

TEST(LlamaPeer, FileLlamaCppCannotLoadIsAnErrorWithItsOwnCode) {
  REQUIRE_PEER(PeerBackend::cpu);
  const fs::path bad = scratch_dir() / "bad.gguf";
  std::ofstream(bad) << "GGUF but not really a model";
  try {
    (void)llama_peer_greedy(bad, kPrompt, 2, cpu_options());
    FAIL() << "no error";
  } catch (const PeerError& e) {
    EXPECT_EQ(e.exit_code(), 4) << e.what();
    EXPECT_EQ(e.code(), "model_load") << e.what();
  }
}

TEST(LlamaPeer, UsageErrorsAreReported) {
  REQUIRE_PEER(PeerBackend::cpu);
  try {
    (void)llama_peer_run({"frobnicate"});
    FAIL() << "no error";
  } catch (const PeerError& e) {
    EXPECT_EQ(e.exit_code(), 2) << e.what();
    EXPECT_EQ(e.code(), "usage") << e.what();
  }
}

TEST(LlamaPeer, GreedyStepsAreConsistent) {
  REQUIRE_PEER(PeerBackend::cpu);
  REQUIRE_MODEL();
  const PeerGreedy g = llama_peer_greedy(tiny_model(), kPrompt, 8, cpu_options());
  ASSERT_EQ(g.tokens.size(), 8u);
  ASSERT_EQ(g.steps.size(), 8u);
  for (size_t i = 0; i < g.steps.size(); ++i) {
    const PeerStep& s = g.steps[i];
    EXPECT_EQ(s.token, g.tokens[i]);
    EXPECT_EQ(s.token, s.top_token);
    EXPECT_DOUBLE_EQ(s.token_prob, s.top_prob);
    ASSERT_EQ(s.top.size(), 5u);
    double sum = 0;
    for (size_t k = 0; k < s.top.size(); ++k) {
      sum += s.top[k].second;
      if (k > 0) {
        EXPECT_LE(s.top[k].second, s.top[k - 1].second);
      }
    }
    EXPECT_LE(sum, 1.0 + 1e-5);
    EXPECT_GT(s.top_prob, 0.0);
  }
}

TEST(LlamaPeer, TeacherForcedScoreMatchesGreedy) {
  REQUIRE_PEER(PeerBackend::cpu);
  REQUIRE_MODEL();
  const PeerGreedy g = llama_peer_greedy(tiny_model(), kPrompt, 6, cpu_options());
  const std::vector<int32_t> cands{3, g.tokens[0]};
  const PeerScore s = llama_peer_score(tiny_model(), kPrompt, g.tokens, cands, cpu_options());
  ASSERT_EQ(s.steps.size(), g.tokens.size() + 1);
  for (size_t i = 0; i < g.tokens.size(); ++i) {
    EXPECT_EQ(s.steps[i].token, g.tokens[i]);
    EXPECT_EQ(s.steps[i].top_token, g.steps[i].top_token) << "step " << i;
    EXPECT_NEAR(s.steps[i].token_prob, g.steps[i].token_prob, 1e-3) << "step " << i;
    EXPECT_TRUE(llama_peer_accepts(s.steps[i])) << "step " << i;
    ASSERT_EQ(s.steps[i].candidates.size(), 2u);
    EXPECT_EQ(s.steps[i].candidates[1].first, g.tokens[0]);
  }
  EXPECT_NEAR(s.steps[0].candidates[1].second, g.steps[0].token_prob, 1e-3);
  EXPECT_EQ(s.steps.back().token, -1);
  EXPECT_GE(s.steps.back().top_token, 0);
}

/// A step where llama.cpp's argmax is token 7 with probability `top`, and our token has probability `ours`.
PeerStep step_with(std::int32_t token, double ours, double top) {
  PeerStep s;
  s.token = token;
  s.token_prob = ours;
  s.top_token = 7;
  s.top_prob = top;
  return s;
}

// The agreement rule (llama_peer.hpp: acceptable when llama.cpp gives our token at least `ratio` times
// its top probability, always when it is the argmax) on cases worked out by hand, not by its formula.
TEST(LlamaPeer, AcceptsTokensNearTheArgmaxAndRejectsUnlikelyOnes) {
  EXPECT_TRUE(llama_peer_accepts(step_with(7, 0.30, 0.30)));   // the argmax itself
  EXPECT_TRUE(llama_peer_accepts(step_with(5, 0.45, 0.50)));   // 90% of the top
  EXPECT_TRUE(llama_peer_accepts(step_with(5, 0.40, 0.50)));   // exactly 80%: accepted
  EXPECT_FALSE(llama_peer_accepts(step_with(5, 0.39, 0.50)));  // 78%
  EXPECT_FALSE(llama_peer_accepts(step_with(5, 0.01, 0.90)));  // far below a confident top
  EXPECT_FALSE(llama_peer_accepts(step_with(5, 0.0, 0.20)));
  // Another ratio: half the top.
  EXPECT_TRUE(llama_peer_accepts(step_with(5, 0.25, 0.50), 0.5));
  EXPECT_FALSE(llama_peer_accepts(step_with(5, 0.24, 0.50), 0.5));
  EXPECT_TRUE(llama_peer_accepts(step_with(7, 0.02, 0.02), 0.99));  // a flat distribution's argmax
}

TEST(LlamaPeer, Tokenize) {
  REQUIRE_PEER(PeerBackend::cpu);
  REQUIRE_MODEL();
  const auto plain = llama_peer_tokenize(tiny_model(), "Hello world");
  ASSERT_FALSE(plain.empty());
  const auto with_bos = llama_peer_tokenize(tiny_model(), "Hello world", false, true);
  ASSERT_EQ(with_bos.size(), plain.size() + 1);
  EXPECT_EQ(with_bos[0], 1);  // make-model's SentencePiece vocabulary: <s> = 1
  EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), plain);
  EXPECT_EQ(llama_peer_tokenize(tiny_model(), "<s>", true), std::vector<int32_t>{1});
  EXPECT_NE(llama_peer_tokenize(tiny_model(), "<s>", false), std::vector<int32_t>{1});
  EXPECT_TRUE(llama_peer_tokenize(tiny_model(), "").empty());
  EXPECT_FALSE(llama_peer_tokenize(tiny_model(), "--text=x --bos").empty());  // no option injection
}

// The one-run forms (tokenize --texts, score --sequences) give what one run per text or sequence gives.
TEST(LlamaPeer, ManyTextsAndSequencesInOneRunMatchOneRunEach) {
  REQUIRE_PEER(PeerBackend::cpu);
  REQUIRE_MODEL();
  const std::vector<std::string> texts = {"Hello world", "<s> x"};
  const auto all = llama_peer_tokenize_all(tiny_model(), texts, /*special=*/true, cpu_options());
  ASSERT_EQ(all.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(all[i], llama_peer_tokenize(tiny_model(), texts[i], true, false, cpu_options())) << texts[i];

  const std::vector<PeerSequence> sequences = {{kPrompt, {9, 10, 11}}, {{1, 200}, {}}};
  const auto scores = llama_peer_score_all(tiny_model(), sequences, cpu_options());
  ASSERT_EQ(scores.size(), sequences.size());
  for (std::size_t q = 0; q < sequences.size(); ++q) {
    const PeerScore one =
        llama_peer_score(tiny_model(), sequences[q].prompt, sequences[q].continuation, {}, cpu_options());
    ASSERT_EQ(scores[q].steps.size(), one.steps.size()) << "sequence " << q;
    for (std::size_t i = 0; i < one.steps.size(); ++i) {
      EXPECT_EQ(scores[q].steps[i].token, one.steps[i].token) << "sequence " << q << ", step " << i;
      EXPECT_EQ(scores[q].steps[i].top_token, one.steps[i].top_token) << "sequence " << q << ", step " << i;
      EXPECT_NEAR(scores[q].steps[i].top_prob, one.steps[i].top_prob, 1e-6) << "sequence " << q;
    }
  }
}

TEST(LlamaPeer, ChatNeedsTheFilesTemplate) {
  REQUIRE_PEER(PeerBackend::cpu);
  REQUIRE_MODEL();
  try {
    (void)llama_peer_chat(tiny_model(), {{{"user", "Hi"}}});
    FAIL() << "make-model writes no chat template; the peer rendered one anyway";
  } catch (const PeerError& e) {
    EXPECT_EQ(e.code(), "usage") << e.what();
    EXPECT_NE(std::string(e.what()).find("tokenizer.chat_template"), std::string::npos) << e.what();
  }
}

TEST(LlamaPeer, VulkanAgreesWithCpu) {
  REQUIRE_PEER(PeerBackend::vulkan);
  REQUIRE_MODEL();
  PeerOptions vk;
  vk.backend = PeerBackend::vulkan;
  PeerGreedy g;
  try {
    g = llama_peer_greedy(tiny_model(), kPrompt, 4, vk);
  } catch (const PeerError& e) {
    if (e.code() == "backend") LAGVK_REFERENCE_MISSING("llama.cpp has no Vulkan device here: " << e.what());
    throw;
  }
  EXPECT_EQ(g.raw.at("backend"), "vulkan");
  const PeerScore s = llama_peer_score(tiny_model(), kPrompt, g.tokens, {}, cpu_options());
  for (size_t i = 0; i < g.tokens.size(); ++i) EXPECT_TRUE(llama_peer_accepts(s.steps[i])) << "step " << i;
}

}  // namespace
}  // namespace lagvk::test
