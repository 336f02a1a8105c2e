// A tool-using agent written with LangChain JS (@langchain/openai's ChatOpenAI with bindTools, ToolMessage
// results) against `lagvk serve -m assets/models/multihop-q8_0.gguf`, started by
// tests/test_server_tools_http.cpp. Its `lookup` tool answers from the multihop suite's knowledge base
// (world.json, the file the CLI's lookup reads) as the CLI's tool does: "ENTITY RELATION OBJECT", or
// "no fact ENTITY RELATION". For each question the loop must make the calls the CLI's own agent made
// (`lagvk ask --agent --logs none`, run by the C++ side) and reach its answer; where that is the suite's gold
// answer, LangChain's is too.
//   LAGVK_URL, LAGVK_API_KEY, LAGVK_MODEL_ID  the server
//   LAGVK_KB        the knowledge base (world.json)
//   LAGVK_CASES     a JSON file: [{"question", "gold", "max_steps", "step_tokens", "cli": {"answer",
//                   "calls": [[relation, entity], ...]}}]
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { answerOf, lookupDeclaration, multihopLookup } from './multihop_kb.mjs';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set: run this through tests/test_server_tools_http.cpp`);
  return v;
};

const facts = multihopLookup(env('LAGVK_KB'));
const lookup = tool(async (args) => facts(args), { ...lookupDeclaration, schema: lookupDeclaration.parameters });

async function runAgent(question, maxSteps, stepTokens) {
  const llm = new ChatOpenAI({
    model: env('LAGVK_MODEL_ID'),
    apiKey: env('LAGVK_API_KEY'),
    configuration: { baseURL: env('LAGVK_URL') },
    temperature: 0,
    maxTokens: stepTokens,
    stop: ['\n'], // one step is one line, as the CLI's agent
    maxRetries: 0,
  }).bindTools([lookup]);
  const messages = [new HumanMessage(question)];
  const calls = [];
  for (let step = 0; step < maxSteps; ++step) {
    const ai = await llm.invoke(messages);
    messages.push(ai);
    if (ai.tool_calls.length === 0) return { answer: answerOf(String(ai.content)), calls };
    for (const call of ai.tool_calls) {
      assert.equal(call.name, 'lookup');
      calls.push([call.args.relation, call.args.entity]);
      messages.push(new ToolMessage({ content: await lookup.invoke(call.args), tool_call_id: call.id }));
    }
  }
  return { answer: null, calls };
}

for (const c of JSON.parse(fs.readFileSync(env('LAGVK_CASES'), 'utf8'))) {
  test(`LangChain agent: ${c.question}`, async () => {
    const got = await runAgent(c.question, c.max_steps, c.step_tokens);
    assert.deepEqual(got.calls, c.cli.calls, 'the tool calls of the CLI agent');
    assert.equal(got.answer, c.cli.answer, "the CLI agent's answer");
    if (c.cli.answer === c.gold) assert.equal(got.answer, c.gold, "the suite's gold answer");
  });
}
