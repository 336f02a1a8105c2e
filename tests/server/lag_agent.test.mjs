// LAG through the API with the official `openai` SDK, against `lagvk serve --store` on the shipped multihop
// model (started by tests/test_server_lag.cpp). A tool-calling agent loop sends the `lag` extension field
// with each step: the first task of each case is solved with `save: true` (only its final answer is
// saved); a related task then runs twice, with logs and with `mode: "none"`. With logs its first response
// names the saved log and it needs fewer steps than without. Each case removes its log at the end.
//   LAGVK_URL    the server's base URL, ending in /v1
//   LAGVK_KB     the knowledge base (world.json)
//   LAGVK_CASES  a JSON file: [{"first": question, "related": question}]
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI from 'openai';
import { answerOf, lookupDeclaration, multihopLookup } from './multihop_kb.mjs';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set: run this through tests/test_server_lag.cpp`);
  return v;
};
const client = new OpenAI({ baseURL: env('LAGVK_URL'), apiKey: 'unused', maxRetries: 0 });
const lookup = multihopLookup(env('LAGVK_KB'));
const kMaxSteps = 6;

/// Runs the agent on question; lag is sent with every step. Returns the answer, the steps and the
/// responses' lag objects.
async function runAgent(question, lag) {
  const messages = [{ role: 'user', content: question }];
  const lags = [];
  for (let step = 1; step <= kMaxSteps; ++step) {
    const r = await client.chat.completions.create({
      model: 'multihop-q8_0.gguf',
      messages,
      tools: [{ type: 'function', function: lookupDeclaration }],
      temperature: 0,
      max_tokens: 48,
      stop: ['\n'], // one step is one line, as the CLI's agent
      lag, // lagvk's extension: the SDK sends unknown fields as given
    });
    lags.push(r.lag);
    const message = r.choices[0].message;
    messages.push(message);
    if (!message.tool_calls?.length) return { answer: answerOf(message.content ?? ''), steps: step, lags };
    for (const call of message.tool_calls)
      messages.push({ role: 'tool', tool_call_id: call.id, content: lookup(JSON.parse(call.function.arguments)) });
  }
  return { answer: null, steps: kMaxSteps, lags };
}

const cases = JSON.parse(fs.readFileSync(env('LAGVK_CASES'), 'utf8'));
cases.forEach((c, i) => {
  test(`a saved task helps a related one: ${c.related}`, async () => {
    const first = await runAgent(c.first, { k: 2, task_id: `first-${i}`, save: true });
    assert.notEqual(first.answer, null, 'the first task is answered');
    const saved = first.lags.at(-1).saved_log;
    assert.equal(typeof saved, 'number', 'the final answer is saved');
    for (const lag of first.lags.slice(0, -1)) assert.equal(lag.saved_log, null, 'a tool-calling step is not saved');
    const stored = await client.get(`/logs/${saved}`);
    assert.equal(stored.task, c.first);

    const withLogs = await runAgent(c.related, { k: 2, task_id: `related-${i}` });
    const without = await runAgent(c.related, { k: 2, task_id: `related-none-${i}`, mode: 'none' });
    assert.ok(withLogs.lags[0].logs.some((l) => l.id === saved), `the saved log ${saved} is placed`);
    for (const lag of without.lags) assert.deepEqual(lag.logs, []);
    assert.ok(withLogs.steps < without.steps, `steps with logs ${withLogs.steps}, without ${without.steps}`);
    assert.equal(withLogs.answer, without.answer, 'the same answer either way');
    // The next case starts from an empty store again (the SDK's generic delete reaches the logs API).
    const deleted = await client.delete(`/logs/${saved}`);
    assert.equal(deleted.deleted, true);
  });
});
