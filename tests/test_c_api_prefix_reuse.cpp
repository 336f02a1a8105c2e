// Prefix reuse (lagvk_generate_params.reuse_prefix) through the shared library, on the shipped multihop
// model and its agent's transcript: an agent's next step evaluates only the tokens past what the model kept
// of the last call, and answers exactly as the same step evaluated from scratch; a call without reuse, or a
// prompt that shares little, starts afresh; the kept cache never serves a prompt it does not begin.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lagvk/lagvk.h"

namespace lagvk::test {
namespace {

const std::string kModel = std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf";
const char* const kQuestion = "What is the mayor of the capital of the country of Calxar?";

struct Answer {
  std::string text;
  std::vector<std::int32_t> tokens;
  std::uint32_t prompt_tokens = 0, cached_tokens = 0;
};

class CApiPrefixReuse : public ::testing::Test {
 protected:
  void SetUp() override {
    const lagvk_model_params mp = lagvk_model_params_default();
    ASSERT_EQ(lagvk_model_load(kModel.c_str(), &mp, &model_), LAGVK_OK) << lagvk_last_error();
  }
  void TearDown() override { lagvk_model_free(model_); }

  Answer chat(const std::vector<lagvk_chat_message>& messages, bool reuse) {
    lagvk_generate_params p = lagvk_generate_params_default();
    p.temperature = 0;
    p.max_tokens = 24;
    const char* stop[] = {"\n"};
    p.stop = stop;
    p.n_stop = 1;
    p.reuse_prefix = reuse ? 1 : 0;
    const lagvk_chat_params cp = lagvk_chat_params_default();
    lagvk_completion* c = nullptr;
    EXPECT_EQ(lagvk_chat_ex(model_, messages.data(), messages.size(), &cp, &p, &c), LAGVK_OK)
        << lagvk_last_error();
    if (c == nullptr) return {};
    const lagvk_completion_info* i = lagvk_completion_get(c);
    Answer a{std::string(i->text, i->text_len),
             {i->tokens, i->tokens + i->n_tokens},
             i->prompt_tokens,
             i->cached_tokens};
    lagvk_completion_free(c);
    return a;
  }

  std::vector<std::int32_t> tokens_of(const std::vector<lagvk_chat_message>& messages) const {
    const lagvk_chat_params cp = lagvk_chat_params_default();
    std::vector<std::int32_t> ids(4096);
    std::size_t n = 0;
    EXPECT_EQ(
        lagvk_chat_tokenize_ex(model_, messages.data(), messages.size(), &cp, ids.data(), ids.size(), &n),
        LAGVK_OK);
    ids.resize(n);
    return ids;
  }

  lagvk_model* model_ = nullptr;
};

TEST_F(CApiPrefixReuse, AnAgentsNextStepEvaluatesOnlyItsNewTokensAndAnswersAsFromScratch) {
  std::vector<lagvk_chat_message> step = {{"user", kQuestion, nullptr, nullptr}};
  const Answer first = chat(step, true);
  EXPECT_EQ(first.cached_tokens, 0u);  // nothing kept yet
  ASSERT_FALSE(first.text.empty());
  // The next step: the transcript so far, the model's line and a tool result (as `lagvk ask --agent` sends).
  const std::string line = first.text.substr(0, first.text.find('\n'));
  step.push_back({"assistant", line.c_str(), nullptr, nullptr});
  step.push_back({"tool", "Calxar country Mormund", nullptr, nullptr});
  const Answer reused = chat(step, true);
  // The whole first prompt (and its answer's first tokens, as far as the rendering repeats them) came from
  // the kept cache.
  EXPECT_GE(reused.cached_tokens, first.prompt_tokens);
  EXPECT_LT(reused.cached_tokens, reused.prompt_tokens);
  const Answer fresh = chat(step, false);
  EXPECT_EQ(fresh.cached_tokens, 0u);
  EXPECT_EQ(reused.prompt_tokens, fresh.prompt_tokens);
  EXPECT_EQ(reused.tokens, fresh.tokens);
  EXPECT_EQ(reused.text, fresh.text);
}

TEST_F(CApiPrefixReuse, OtherCallsAndOtherPromptsStartAfresh) {
  const std::vector<lagvk_chat_message> one = {{"user", kQuestion, nullptr, nullptr}};
  const Answer first = chat(one, true);
  // The same prompt again: all but its last token reused (that one is evaluated for the first logits).
  const Answer again = chat(one, true);
  EXPECT_EQ(again.cached_tokens, first.prompt_tokens - 1);
  EXPECT_EQ(again.tokens, first.tokens);
  // A call without reuse drops what is kept.
  (void)chat(one, false);
  EXPECT_EQ(chat(one, true).cached_tokens, 0u);
  // Another question shares only its opening: exactly the tokens the two prompts begin with are reused.
  const std::vector<lagvk_chat_message> other = {
      {"user", "What is the father of the director of Tordor?", nullptr, nullptr}};
  const auto a = tokens_of(one), b = tokens_of(other);
  std::uint32_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
  ASSERT_LT(common, a.size());
  const Answer switched = chat(other, true);
  EXPECT_EQ(switched.cached_tokens, common);
  EXPECT_EQ(switched.tokens, chat(other, false).tokens);
}

}  // namespace
}  // namespace lagvk::test
