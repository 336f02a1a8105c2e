// The official `openai` npm SDK against a running `lagvk serve` (started by tests/test_server.cpp, which
// passes what it knows in the environment): models, chat with and without streaming, completions from
// token ids, embeddings, stop strings, and errors raised as the SDK's own classes. Greedy outputs are
// compared with `lagvk run --temp 0` on the same prompt, which the C++ side ran.
//   LAGVK_URL             the server's base URL, ending in /v1
//   LAGVK_API_KEY         the key the server was started with
//   LAGVK_MODEL_ID        the model's id (its file name)
//   LAGVK_CHAT            a user message; LAGVK_CHAT_EXPECTED: `lagvk run --chat` of it, greedy
//   LAGVK_TOKENS          comma-separated prompt ids; LAGVK_TOKENS_EXPECTED: `lagvk run --tokens` of them
//   LAGVK_MAX_TOKENS      the -n both were run with
//   LAGVK_EMBEDDING_SIZE  the model's embedding width
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set: run this through tests/test_server.cpp`);
  return v;
};
const client = new OpenAI({ baseURL: env('LAGVK_URL'), apiKey: env('LAGVK_API_KEY'), maxRetries: 0 });
const model = env('LAGVK_MODEL_ID');
const maxTokens = Number(env('LAGVK_MAX_TOKENS'));
const chatMessages = [{ role: 'user', content: env('LAGVK_CHAT') }];
const promptIds = env('LAGVK_TOKENS').split(',').map(Number);

async function streamedChat(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

test('models.list names the served model', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), [model]);
});

test('greedy chat equals lagvk run --chat --temp 0', async () => {
  const r = await client.chat.completions.create({ model, messages: chatMessages, max_tokens: maxTokens, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, env('LAGVK_CHAT_EXPECTED'));
  assert.equal(r.choices[0].finish_reason, r.usage.completion_tokens === maxTokens ? 'length' : 'stop');
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.usage.prompt_tokens_details.cached_tokens, 0);
});

test('streamed chat: role first, the same text, finish_reason last, usage, then [DONE]', async () => {
  const params = { model, messages: chatMessages, max_tokens: maxTokens, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  const chunks = await streamedChat(params);
  assert.ok(chunks.length >= 3);
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.deepEqual(usage.usage, whole.usage);
  const last = chunks.at(-2);
  assert.equal(last.choices[0].finish_reason, whole.choices[0].finish_reason);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, whole.choices[0].message.content);
  for (const c of chunks.slice(0, -2)) assert.equal(c.choices[0].finish_reason, null);
});

test('completions from token ids equal lagvk run --tokens --temp 0, streamed or not', async () => {
  const params = { model, prompt: promptIds, max_tokens: maxTokens, temperature: 0 };
  const r = await client.completions.create(params);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].text, env('LAGVK_TOKENS_EXPECTED'));
  assert.equal(r.usage.prompt_tokens, promptIds.length);
  const stream = await client.completions.create({ ...params, stream: true });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(text, r.choices[0].text);
  assert.equal(finish, r.choices[0].finish_reason);
});

test('a stop string ends the text before it, streamed or not', async () => {
  const full = env('LAGVK_CHAT_EXPECTED');
  // A stop string taken from inside the greedy text: the answer is the text before its first occurrence.
  const at = Math.max(1, Math.floor(full.length / 2));
  const stop = full.slice(at, at + 2);
  assert.ok(stop.length === 2, `the greedy text '${full}' is too short for this test`);
  const expected = full.slice(0, full.indexOf(stop));
  const params = { model, messages: chatMessages, max_tokens: maxTokens, temperature: 0, stop: [stop, '\u0001never'] };
  const r = await client.chat.completions.create(params);
  assert.equal(r.choices[0].message.content, expected);
  assert.equal(r.choices[0].finish_reason, 'stop');
  const chunks = await streamedChat(params);
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), expected);
});

test('embeddings: one vector per input, as floats or base64', async () => {
  const size = Number(env('LAGVK_EMBEDDING_SIZE'));
  const r = await client.embeddings.create({ model, input: ['the glass harbor', 'who directed it'] });
  assert.equal(r.data.length, 2);
  for (const [i, d] of r.data.entries()) {
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, size);
    assert.ok(d.embedding.every(Number.isFinite));
    // Unit length, as OpenAI's embeddings are: cosine similarity is a dot product.
    assert.ok(Math.abs(Math.hypot(...d.embedding) - 1) < 1e-4, `norm ${Math.hypot(...d.embedding)}`);
  }
  assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
  // The SDK asks for base64 unless told otherwise; floats must give the same numbers (as float32).
  const floats = await client.embeddings.create({ model, input: 'the glass harbor', encoding_format: 'float' });
  assert.deepEqual(floats.data[0].embedding.map(Math.fround), r.data[0].embedding.map(Math.fround));
});

test('bad requests raise the SDK error classes with the server code', async () => {
  const long = 'word '.repeat(2000);
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: long }] }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, String(e));
    assert.equal(e.status, 400);
    assert.equal(e.code, 'context_length_exceeded');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model, messages: chatMessages, temperature: 7 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, String(e));
    assert.equal(e.code, 'invalid_value');
    assert.equal(e.param, 'temperature');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: chatMessages }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, String(e));
    assert.equal(e.code, 'model_not_found');
    return true;
  });
  const stranger = new OpenAI({ baseURL: env('LAGVK_URL'), apiKey: 'not-the-key', maxRetries: 0 });
  await assert.rejects(stranger.models.list(), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
  // And the server still answers.
  const page = await client.models.list();
  assert.equal(page.data[0].id, model);
});
