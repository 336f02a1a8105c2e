// Tools through the official `openai` npm SDK against `lagvk serve` on a random model with Qwen3's
// vocabulary and chat template (started by tests/test_server_tools_http.cpp). The prompt token counts the
// server reports must equal those of the real Qwen3 template rendered by @huggingface/jinja and tokenized
// by the reference tokenizer (tests/tokenizer_ref/render_chat.mjs, run by the C++ side):
//   LAGVK_URL, LAGVK_API_KEY, LAGVK_MODEL_ID  the server
//   LAGVK_TOOLS_CASE  a JSON file: {"messages", "tools", "reference": {"auto", "none", "required", "named"}}
//                     (token counts: with tools; without them; with "<tool_call>\n" after the generation
//                     prompt; with the opening of a call of the first tool)
// A random model writes noise, so whether an answer is a call cannot be asked of it; what a choice forces
// can: the prompt it is given, and that the answer is the call or starts with its forced opening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI from 'openai';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set: run this through tests/test_server_tools_http.cpp`);
  return v;
};
const client = new OpenAI({ baseURL: env('LAGVK_URL'), apiKey: env('LAGVK_API_KEY'), maxRetries: 0 });
const model = env('LAGVK_MODEL_ID');
const { messages, tools, reference } = JSON.parse(fs.readFileSync(env('LAGVK_TOOLS_CASE'), 'utf8'));
const tool = tools[0].function.name;
const params = { model, messages, tools, max_tokens: 8, temperature: 0 };

const choice = (r) => r.choices[0];

test('a chat with tools, tool calls and tool results: prompt tokens equal the real template\'s', async () => {
  const r = await client.chat.completions.create(params);
  assert.equal(r.usage.prompt_tokens, reference.auto);
  assert.ok(['stop', 'length', 'tool_calls'].includes(choice(r).finish_reason), choice(r).finish_reason);
  if (choice(r).finish_reason === 'tool_calls') assert.ok(choice(r).message.tool_calls.length > 0);
  else assert.equal(typeof choice(r).message.content, 'string');
});

test('tool_choice none offers no tools: the prompt is the chat alone and the answer is text', async () => {
  const r = await client.chat.completions.create({ ...params, tool_choice: 'none' });
  assert.equal(r.usage.prompt_tokens, reference.none);
  assert.equal(choice(r).message.tool_calls, undefined);
  assert.notEqual(choice(r).finish_reason, 'tool_calls');
  assert.equal(typeof choice(r).message.content, 'string');
});

test('tool_choice required and named force the opening of a call', async () => {
  const required = await client.chat.completions.create({ ...params, tool_choice: 'required' });
  assert.equal(required.usage.prompt_tokens, reference.required);
  const named = await client.chat.completions.create({
    ...params, tool_choice: { type: 'function', function: { name: tool } },
  });
  assert.equal(named.usage.prompt_tokens, reference.named);
  for (const [r, opening] of [[required, '<tool_call>\n'], [named, `<tool_call>\n{"name": "${tool}", "arguments": `]]) {
    const m = choice(r).message;
    if (choice(r).finish_reason === 'tool_calls') {
      assert.equal(m.tool_calls[0].type, 'function');
      JSON.parse(m.tool_calls[0].function.arguments);
      if (r === named) assert.equal(m.tool_calls[0].function.name, tool);
    } else {
      assert.ok(m.content.startsWith(opening), JSON.stringify(m.content));
    }
  }
});

test('streamed with tools: the same answer as OpenAI streams it, then [DONE]', async () => {
  for (const tool_choice of ['auto', { type: 'function', function: { name: tool } }]) {
    const whole = await client.chat.completions.create({ ...params, tool_choice });
    const stream = await client.chat.completions.create({
      ...params, tool_choice, stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    // The same counts; how many prompt tokens came from the kept cache depends on the request before.
    const { prompt_tokens_details: streamedCache, ...streamed } = chunks.at(-1).usage;
    const { prompt_tokens_details: wholeCache, ...counts } = whole.usage;
    assert.deepEqual(streamed, counts);
    // The stream repeats the request just answered whole: all its prompt but the last token is reused.
    assert.equal(streamedCache.cached_tokens, counts.prompt_tokens - 1);
    assert.ok(wholeCache.cached_tokens < counts.prompt_tokens);
    const deltas = chunks.slice(0, -1).map((c) => c.choices[0].delta);
    const content = deltas.map((d) => d.content ?? '').join('');
    assert.equal(content, choice(whole).message.content ?? '');
    const calls = [];
    for (const d of deltas) {
      for (const t of d.tool_calls ?? []) {
        calls[t.index] ??= { id: t.id, type: t.type, function: { name: t.function.name, arguments: '' } };
        calls[t.index].function.arguments += t.function.arguments ?? '';
      }
    }
    assert.deepEqual(calls, choice(whole).message.tool_calls ?? []);
    assert.equal(chunks.at(-2).choices[0].finish_reason, choice(whole).finish_reason);
  }
});

test('tools the request gets wrong raise the SDK\'s BadRequestError', async () => {
  await assert.rejects(client.chat.completions.create({ ...params, tool_choice: { type: 'function', function: { name: 'nope' } } }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'invalid_value' && e.param === 'tool_choice');
  await assert.rejects(client.chat.completions.create({ ...params, tools: [{ type: 'function', function: { name: 'a b' } }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools');
});
