// lagvk_react: the general ReAct agent through the C API on a small random model, with the search tool over
// tests/qa_fixture and an external tool: the result's JSON shape, the step limit, a saved task, and the
// status codes of bad tools and missing passages (a failing tool is an observation, not an error), and
// a coprocessor augmenting the turns.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lagvk/lagvk.h"
#include "tests/support/cli.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

class CApiReact : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_.emplace("c_api_react");
    const fs::path dir = scratch_->path();
    model_path_ = (dir / "m.gguf").string();
    const auto r =
        run_lagvk("make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 -o '" +
                  model_path_ + "'");
    ASSERT_EQ(r.status, 0) << r.out;
    const lagvk_model_params mp = lagvk_model_params_default();
    ASSERT_EQ(lagvk_model_load(model_path_.c_str(), &mp, &model_), LAGVK_OK) << lagvk_last_error();
    lagvk_store_params sp = lagvk_store_params_default();
    sp.create = 1;
    ASSERT_EQ(lagvk_store_open(model_, (dir / "store").string().c_str(), &sp, &store_), LAGVK_OK)
        << lagvk_last_error();
  }
  static void TearDownTestSuite() {
    lagvk_store_close(store_);
    lagvk_model_free(model_);
    scratch_.reset();
  }
  static inline std::optional<ScratchDir> scratch_;
  static inline std::string model_path_;
  static inline lagvk_model* model_ = nullptr;
  static inline lagvk_store* store_ = nullptr;
};

TEST_F(CApiReact, RunsTheAgentAndReportsItsSteps) {
  const std::string docs = LAGVK_SOURCE_DIR "/tests/qa_fixture/passages.jsonl";
  const char* tools[] = {"broken=exit 4"};
  lagvk_react_params p = lagvk_react_params_default();
  EXPECT_EQ(p.max_steps, 8u);
  p.docs_path = docs.c_str();
  p.tools = tools;
  p.n_tools = 1;
  p.max_steps = 1;
  p.max_step_tokens = 4;
  p.save = 1;
  char* text = nullptr;
  ASSERT_EQ(lagvk_react(store_, "Who designed the Brannock Bridge?", &p, &text), LAGVK_OK)
      << lagvk_last_error();
  ASSERT_NE(text, nullptr);
  const auto j = nlohmann::json::parse(text);
  lagvk_string_free(text);
  ASSERT_TRUE(j["steps"].is_array());
  EXPECT_GE(j["steps"].size(), 1u);
  EXPECT_EQ(j["steps"].size(), 1u);  // max_steps 1: one step, answered or not
  for (const auto& s : j["steps"]) {
    EXPECT_TRUE(s["output"].is_string());
    EXPECT_TRUE(s["observation"].is_string());
  }
  EXPECT_TRUE(j["answer"].is_string() || j["answer"].is_null());
  // Only an answered task is kept (a random model seldom answers within one step).
  EXPECT_EQ(j["saved_log"].is_number_integer(), j["answer"].is_string()) << j.dump();
  EXPECT_TRUE(j["saved_log"].is_number_integer() || j["saved_log"].is_null()) << j.dump();
  lagvk_string_free(nullptr);
}

// A coprocessor augments the agent's turns: at the question's prompt only, its latents once; at each step,
// once per step. Without one the result says 0 latents.
TEST_F(CApiReact, ACoprocessorAugmentsTheTurns) {
  const std::string made = (scratch_->path() / "coprocessor.gguf").string();
  const auto r = run_lagvk("coprocessor make -m '" + model_path_ + "' --latents 3 -o '" + made + "'");
  ASSERT_EQ(r.status, 0) << r.out;
  lagvk_coprocessor* coprocessor = nullptr;
  ASSERT_EQ(lagvk_coprocessor_load(model_, made.c_str(), &coprocessor), LAGVK_OK) << lagvk_last_error();
  const std::string docs = LAGVK_SOURCE_DIR "/tests/qa_fixture/passages.jsonl";
  const auto latents_of = [&](const lagvk_coprocessor* c, lagvk_augment_at at, std::uint32_t steps) {
    lagvk_react_params p = lagvk_react_params_default();
    EXPECT_EQ(p.coprocessor, nullptr);
    EXPECT_EQ(p.augment_at, LAGVK_AUGMENT_EACH_STEP);
    p.docs_path = docs.c_str();
    p.max_steps = steps;
    p.max_step_tokens = 4;
    p.coprocessor = c;
    p.augment_at = at;
    char* text = nullptr;
    EXPECT_EQ(lagvk_react(store_, "Who designed the Brannock Bridge?", &p, &text), LAGVK_OK)
        << lagvk_last_error();
    const auto j = nlohmann::json::parse(text ? text : "null");
    lagvk_string_free(text);
    EXPECT_GE(j["steps"].size(), 1u) << j.dump();
    return std::pair{j["latents"].get<std::uint32_t>(), std::uint32_t(j["steps"].size())};
  };
  EXPECT_EQ(latents_of(coprocessor, LAGVK_AUGMENT_PROMPT, 2).first, 3u);
  const auto [each, steps] = latents_of(coprocessor, LAGVK_AUGMENT_EACH_STEP, 2);
  EXPECT_EQ(each, 3u * steps);
  EXPECT_EQ(latents_of(nullptr, LAGVK_AUGMENT_EACH_STEP, 2).first, 0u);
  lagvk_react_params p = lagvk_react_params_default();
  p.docs_path = docs.c_str();
  p.coprocessor = coprocessor;
  p.augment_at = static_cast<lagvk_augment_at>(7);
  char* text = nullptr;
  EXPECT_EQ(lagvk_react(store_, "q", &p, &text), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(lagvk_last_error()).find("augment_at"), std::string::npos) << lagvk_last_error();
  lagvk_coprocessor_free(coprocessor);
}

TEST_F(CApiReact, BadToolsAndPassagesAreErrors) {
  lagvk_react_params p = lagvk_react_params_default();
  char* text = nullptr;
  EXPECT_EQ(lagvk_react(store_, "q", &p, &text), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(lagvk_last_error()).find("give the agent a tool"), std::string::npos);
  const char* bad[] = {"no command"};
  p.tools = bad;
  p.n_tools = 1;
  EXPECT_EQ(lagvk_react(store_, "q", &p, &text), LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(lagvk_last_error()).find("give NAME=COMMAND"), std::string::npos);
  p.n_tools = 0;
  p.docs_path = "/nonexistent/passages.jsonl";
  EXPECT_EQ(lagvk_react(store_, "q", &p, &text), LAGVK_ERROR_FILE_NOT_FOUND);
  EXPECT_EQ(text, nullptr);
  EXPECT_EQ(lagvk_react(store_, "q", nullptr, &text), LAGVK_ERROR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace lagvk::test
