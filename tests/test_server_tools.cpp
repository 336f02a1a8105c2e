// lagvk serve's tool calls without a model: the tools, tool_choice and tool messages of a chat request, the
// opening a tool_choice forces per chat format, the generated text parsed back into calls (well-formed
// calls of declared tools only; everything else stays content), and the JSON of the answer and its stream
// chunks in OpenAI's shape. tests/test_server.cpp runs them over HTTP with the OpenAI SDK.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/api_error.hpp"
#include "server/openai_json.hpp"
#include "server/reply_memory.hpp"
#include "server/requests.hpp"
#include "server/tool_calls.hpp"

namespace lagvk::server {
namespace {

using nlohmann::json;

const std::vector<ToolSpec> kTools = {{"lookup", {"relation", "entity"}}, {"get_weather", {"city"}}};

TEST(ServerToolCalls, QwenBlocksAfterTextAreCallsAndTheTextIsContent) {
  for (const char* format : {"qwen3", "chatml"}) {
    const ParsedReply r =
        parse_reply(format,
                    "Let me check.\n<tool_call>\n{\"name\": \"lookup\", \"arguments\": "
                    "{\"relation\": \"directed_by\", \"entity\": \"X\"}}\n</tool_call>\n"
                    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>",
                    kTools);
    EXPECT_EQ(r.content, "Let me check.") << format;
    ASSERT_EQ(r.calls.size(), 2u) << format;
    EXPECT_EQ(r.calls[0].name, "lookup");
    // Arguments as compact JSON text, keys in the model's order (OpenAI's function.arguments).
    EXPECT_EQ(r.calls[0].arguments, R"({"relation":"directed_by","entity":"X"})");
    EXPECT_EQ(r.calls[1].name, "get_weather");
    EXPECT_EQ(r.calls[1].arguments, "{}");
  }
  // The model may end its turn right after the JSON, before the closing tag.
  const ParsedReply unclosed =
      parse_reply("qwen3", "<tool_call>\n{\"name\": \"lookup\", \"arguments\": {}}", kTools);
  ASSERT_EQ(unclosed.calls.size(), 1u);
  EXPECT_EQ(unclosed.content, "");
}

TEST(ServerToolCalls, TextThatIsNotAWellFormedCallOfADeclaredToolIsContent) {
  const std::vector<std::string> texts = {
      "just an answer",
      "<tool_call>\n{\"name\": \"lookup\", \"arguments\": {\"a\": 1}\n</tool_call>",  // JSON cut short
      "<tool_call>\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call>",          // not declared
      "<tool_call>\n{\"name\": \"lookup\", \"arguments\": \"x\"}\n</tool_call>",  // arguments not an object
      "<tool_call>\n{\"name\": \"lookup\", \"arguments\": {}}\n</tool_call> and then text",  // text after a
                                                                                             // call
      "<tool_call>\n[1, 2]\n</tool_call>",
      "<tool_call>",
      "\xff\xfe<tool_call>\n{\"name\":",
  };
  for (const auto& text : texts) {
    const ParsedReply r = parse_reply("qwen3", text, kTools);
    EXPECT_TRUE(r.calls.empty()) << text;
    EXPECT_EQ(r.content, text);
  }
  EXPECT_TRUE(parse_reply("llama31", "{\"name\": \"lookup\"", kTools).calls.empty());
  EXPECT_TRUE(
      parse_reply("llama31", "Sure: {\"name\": \"lookup\", \"parameters\": {}}", kTools).calls.empty());
  // A format without tool calls never parses any.
  EXPECT_TRUE(parse_reply("llama3", "{\"name\": \"lookup\", \"parameters\": {}}", kTools).calls.empty());
  EXPECT_TRUE(
      parse_reply("llama2", "<tool_call>\n{\"name\": \"lookup\", \"arguments\": {}}\n</tool_call>", kTools)
          .calls.empty());
}

TEST(ServerToolCalls, Llama31AnswersThatAreOneJsonCallAreCalls) {
  const ParsedReply r = parse_reply(
      "llama31", " {\"name\": \"lookup\", \"parameters\": {\"entity\": \"The Glass Harbor\"}}\n", kTools);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "lookup");
  EXPECT_EQ(r.calls[0].arguments, R"({"entity":"The Glass Harbor"})");
  EXPECT_EQ(r.content, "");
  EXPECT_EQ(parse_reply("llama31", "<|python_tag|>{\"name\": \"get_weather\", \"arguments\": {}}", kTools)
                .calls.size(),
            1u);
}

// The plain format is the shipped multihop agent's: its line ends with the call, whose values are given by
// position and named after the declared parameters.
TEST(ServerToolCalls, PlainActionsAreCallsWithPositionalArgumentsNamedInDeclaredOrder) {
  const ParsedReply r = parse_reply("plain", " Limkin capital ? Action: lookup(capital, Limkin)", kTools);
  EXPECT_EQ(r.content, "Limkin capital ?");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "lookup");
  EXPECT_EQ(r.calls[0].arguments, R"({"relation":"capital","entity":"Limkin"})");
  const ParsedReply bare = parse_reply("plain", "Action: get_weather( Oslo )", kTools);
  ASSERT_EQ(bare.calls.size(), 1u);
  EXPECT_EQ(bare.calls[0].arguments, R"({"city":"Oslo"})");
  EXPECT_EQ(bare.content, "");
  for (const std::string text : {" Limkin capital Vorvek. Vorvek mayor Nelvek. Answer: Nelvek",
                                 " Action: lookup(capital)",               // too few arguments
                                 " Action: lookup(a, b, c)",               // too many
                                 " Action: search(capital, Limkin)",       // not declared
                                 " Action: lookup(capital, Limkin) then",  // text after the call
                                 " Action: lookup(capital, Limkin"}) {
    const ParsedReply p = parse_reply("plain", text, kTools);
    EXPECT_TRUE(p.calls.empty()) << text;
    EXPECT_EQ(p.content, text);
  }
  // A model's bytes need not be UTF-8: the arguments are still JSON text, never an error.
  const ParsedReply bytes = parse_reply("plain", "Action: lookup(\xff\xfe, x)", kTools);
  ASSERT_EQ(bytes.calls.size(), 1u);
  EXPECT_EQ(bytes.calls[0].arguments, "{\"relation\":\"\xef\xbf\xbd\xef\xbf\xbd\",\"entity\":\"x\"}");
  EXPECT_EQ(forced_prefix("plain", ToolChoice{ToolChoice::Mode::named, "lookup"}), " Action: lookup(");
  EXPECT_EQ(forced_prefix("plain", ToolChoice{ToolChoice::Mode::required, ""}), " Action: ");
}

TEST(ServerToolRequests, DeclaredParametersKeepTheirSchemasOrder) {
  const ChatRequest c = parse_chat_request(R"({"messages": [{"role": "user", "content": "q"}], "tools": [
      {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object",
       "properties": {"relation": {"type": "string"}, "entity": {"type": "string"}}}}}]})");
  ASSERT_EQ(c.tools.size(), 1u);
  EXPECT_EQ(c.tools[0].parameters, (std::vector<std::string>{"relation", "entity"}));
}

TEST(ServerToolCalls, RequiredAndNamedChoicesForceTheOpeningOfACall) {
  const ToolChoice required{ToolChoice::Mode::required, ""}, named{ToolChoice::Mode::named, "lookup"};
  EXPECT_EQ(forced_prefix("qwen3", required), "<tool_call>\n");
  EXPECT_EQ(forced_prefix("qwen3", named), "<tool_call>\n{\"name\": \"lookup\", \"arguments\": ");
  EXPECT_EQ(forced_prefix("llama31", named), "{\"name\": \"lookup\", \"parameters\": ");
  EXPECT_EQ(forced_prefix("qwen3", ToolChoice{}), "");
  EXPECT_EQ(forced_prefix("qwen3", ToolChoice{ToolChoice::Mode::none, ""}), "");
  // The forced opening and what a model adds to it parse as the call.
  const ParsedReply r =
      parse_reply("qwen3", forced_prefix("qwen3", named) + "{\"entity\": \"X\"}}\n</tool_call>", kTools);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, R"({"entity":"X"})");
}

TEST(ServerToolCalls, TheAnswerAndItsChunksHaveOpenAisShape) {
  const ParsedReply calls{"", {{"lookup", R"({"entity":"X"})"}, {"get_weather", "{}"}}};
  const json message = tool_reply_message(calls, "call_7_");
  EXPECT_EQ(message, json::parse(R"({"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_7_0", "type": "function", "function": {"name": "lookup", "arguments": "{\"entity\":\"X\"}"}},
      {"id": "call_7_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]})"));
  const ParsedReply text{"plain words", {}};
  EXPECT_EQ(tool_reply_message(text, "call_7_"),
            json::parse(R"({"role": "assistant", "content": "plain words"})"));

  const ResponseMeta meta{"chatcmpl-7", 1, "m.gguf"};
  const auto chunks = tool_reply_chunks(meta, ParsedReply{"hm", {{"lookup", "{}"}}}, "call_7_", "tool_calls");
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0]["choices"][0]["delta"], json::parse(R"({"content": "hm"})"));
  EXPECT_EQ(chunks[1]["choices"][0]["delta"], json::parse(R"({"tool_calls": [{"index": 0, "id": "call_7_0",
      "type": "function", "function": {"name": "lookup", "arguments": ""}}]})"));
  EXPECT_EQ(chunks[2]["choices"][0]["delta"],
            json::parse(R"({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})"));
  EXPECT_EQ(chunks[3]["choices"][0]["finish_reason"], "tool_calls");
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i)
    EXPECT_TRUE(chunks[i]["choices"][0]["finish_reason"].is_null());
}

TEST(ServerToolRequests, ToolsChoicesAndToolMessagesAreParsed) {
  const ChatRequest c = parse_chat_request(R"({"messages": [
      {"role": "user", "content": "q"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "lookup", "arguments": "{\"entity\": \"X\"}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "Ada"}],
    "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "b": 1, "a": 2}}}],
    "tool_choice": {"type": "function", "function": {"name": "lookup"}}})");
  ASSERT_EQ(c.messages.size(), 3u);
  EXPECT_EQ(json::parse(c.messages[1].tool_calls_json)[0]["function"]["name"], "lookup");
  EXPECT_EQ(c.messages[1].content, "");
  EXPECT_EQ(c.messages[2].tool_call_id, "c1");
  ASSERT_EQ(c.tools.size(), 1u);
  EXPECT_EQ(c.tools[0].name, "lookup");
  EXPECT_EQ(c.tools[0].parameters, std::vector<std::string>{});  // its schema has no properties
  // The tools as sent: their keys keep the client's order (the prompt shows them so).
  EXPECT_NE(c.tools_json.find(R"("b":1,"a":2)"), std::string::npos) << c.tools_json;
  EXPECT_EQ(c.tool_choice.mode, ToolChoice::Mode::named);
  EXPECT_EQ(c.tool_choice.name, "lookup");
  const std::string msgs = R"("messages": [{"role": "user", "content": "q"}])";
  EXPECT_EQ(parse_chat_request("{" + msgs + "}").tool_choice.mode, ToolChoice::Mode::automatic);
  for (const char* mode : {"none", "auto", "required"})
    EXPECT_NO_THROW((void)parse_chat_request("{" + msgs +
                                             R"(, "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": ")" + mode + "\"}"));
}

TEST(ServerToolRequests, MalformedToolsAndChoicesAre400WithTheirCode) {
  const std::string msgs = R"("messages": [{"role": "user", "content": "q"}])";
  const std::string tool = R"({"type": "function", "function": {"name": "lookup"}})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("tools": {})", "invalid_type"},
      {R"("tools": [5])", "invalid_type"},
      {R"("tools": [{"type": "retrieval"}])", "unsupported_value"},
      {R"("tools": [{"type": "function"}])", "invalid_type"},
      {R"("tools": [{"type": "function", "function": {"name": "bad name!"}}])", "invalid_value"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}])", "invalid_type"},
      {R"("tools": [)" + tool + R"(], "tool_choice": "always")", "invalid_value"},
      {R"("tools": [)" + tool + R"(], "tool_choice": 3)", "invalid_type"},
      {R"("tools": [)" + tool + R"(], "tool_choice": {"type": "function", "function": {"name": "other"}})",
       "invalid_value"},
      {R"("tool_choice": "required")", "invalid_value"},
      {R"("messages": [{"role": "assistant", "tool_calls": {}}])", "invalid_type"},
      {R"("messages": [{"role": "assistant", "tool_calls": [{"type": "function"}]}])", "invalid_value"},
      {R"("messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}])",
       "missing_required_parameter"},
      {R"("messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 5}}]}])",
       "invalid_type"},
      {R"("messages": [{"role": "tool", "content": "x", "tool_call_id": 5}])", "invalid_type"},
  };
  for (const auto& [fields, code] : cases) {
    const std::string body =
        fields.starts_with("\"messages\"") ? "{" + fields + "}" : "{" + msgs + ", " + fields + "}";
    try {
      (void)parse_chat_request(body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.http_status(), 400) << body;
      EXPECT_EQ(e.code(), code) << body << ": " << e.what();
    }
  }
}

TEST(ServerReplyMemory, RecallsTheLastAnswersByCallIdAndForgetsTheOldest) {
  ReplyMemory memory(2);
  memory.remember("call_a", "Limkin capital ?");
  memory.remember("call_b", "Vorvek mayor ?");
  EXPECT_EQ(memory.recall("call_a"), "Limkin capital ?");
  memory.remember("call_b", "replaced");
  EXPECT_EQ(memory.recall("call_b"), "replaced");
  memory.remember("call_c", "");
  EXPECT_EQ(memory.recall("call_a"), std::nullopt) << "the oldest goes first";
  EXPECT_EQ(memory.recall("call_c"), "");
  EXPECT_EQ(memory.recall("never given"), std::nullopt);
}

}  // namespace
}  // namespace lagvk::server
