#!/usr/bin/env node
// llama.cpp reference peer for lagvk tests and benchmarks.
//
// Drives llama.cpp through node-llama-cpp's prebuilt binaries (@node-llama-cpp/linux-x64 for the CPU
// backend, @node-llama-cpp/linux-x64-vulkan for Vulkan). Never builds or downloads anything.
// Prints exactly one JSON document on stdout; llama.cpp's own log lines go to stderr.
//
// Sub-commands (run with --help for the option list):
//   info     --model M                                   model/backend facts and llama.cpp warnings
//   greedy   --model M --tokens 1,2,3 --n 32             greedy decode from raw token ids (no BOS added)
//   score    --model M --tokens P [--continuation T] [--candidates C]
//                                                        teacher-forced next-token distributions
//   score    --model M --sequences FILE.json             the same for many sequences in one run
//   tokenize --model M --text "..." [--special] [--bos]  llama.cpp tokenizer
//   tokenize --model M --texts FILE.json [--special]     the same for each string of a JSON array
//   chat     --model M --messages FILE.json [--no-generation-prompt]
//                                                        each conversation of FILE rendered with the
//                                                        GGUF's own chat template and tokenized
//   bench    --model M --prompt-tokens 128 --gen-tokens 64 [--reps 3]
//                                                        prefill and decode throughput
//   embed    --model M --texts FILE.json                 llama.cpp's pooled embedding of each string
// Common options: --gpu cpu|vulkan|native (default cpu), --ctx N, --threads N, --batch N, --top K (default 5).
// Exit codes: 0 ok, 2 usage error, 3 model file missing/unreadable, 4 llama.cpp failed to load the
// model, 5 backend unavailable, 1 anything else. On failure stdout holds {"error": ..., "code": ...}.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const EXIT = { usage: 2, model_missing: 3, model_load: 4, backend: 5, internal: 1 };

class PeerError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const HELP = `usage: node tools/peer/llama_ref.mjs <command> --model M.gguf [options]
commands:
  info                                   backend, device, model facts, llama.cpp warnings
  greedy   --tokens IDS --n N            greedy-decode N tokens after the prompt IDS (used as given, no BOS)
  score    --tokens IDS [--continuation IDS] [--candidates IDS]
                                         distribution of the next token after IDS, IDS+T[0], ..., IDS+T
  score    --sequences FILE              FILE: a JSON array of {"tokens": IDS, "continuation": IDS}; each
                                         scored as above in a fresh context: {"scores": [...]}
  tokenize --text S [--special] [--bos]  token ids (--special: parse special-token text; --bos: prepend BOS)
  tokenize --texts FILE [--special]      FILE: a JSON array of strings; prints an array of id arrays
  chat     --messages FILE [--no-generation-prompt]
                                         FILE: a JSON array of conversations, each an array of
                                         {"role", "content"}; renders each with tokenizer.chat_template
                                         (Jinja, @huggingface/jinja as node-llama-cpp uses it) and
                                         prints [{"text", "tokens"}] (tokens with special-token parsing)
  bench    --prompt-tokens P --gen-tokens G [--reps R] [--warmup W]
  embed    --texts FILE                  FILE: a JSON array of non-empty strings; prints {"embeddings":
                                         [[...], ...]}, each L2-normalised, pooled as the GGUF says
                                         (bert.pooling_type), with node-llama-cpp's embedding context
                                         (which adds the model's own [CLS]/[SEP] or BOS/EOS)
options:
  --gpu cpu|vulkan|native  backend (default cpu, the generic CPU build; vulkan offloads all layers; native:
                     the Vulkan build's CPU backend, compiled for this CPU, no device visible)
  --ctx N            context size (default: tokens needed, rounded up to 256)
  --threads N        CPU threads (default: env LAGVK_PEER_THREADS or all cores, at most 8)
  --batch N          llama.cpp n_batch = n_ubatch (default max(512, prompt length))
  --top K            entries in each step's "top" list (default 5)
  --flash-attn       enable flash attention (default off)
IDS are comma-separated token ids.`;

// ---------------------------------------------------------------------------------------------
// argument parsing
const FLAGS = new Set(["special", "bos", "flash-attn", "help", "no-generation-prompt"]);

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      out._.push(a);
      continue;
    }
    let key = a.slice(2);
    let value;
    const eq = key.indexOf("=");
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else if (FLAGS.has(key)) {
      value = true;
    } else {
      if (i + 1 >= argv.length) throw new PeerError("usage", `option --${key} needs a value`);
      value = argv[++i];
    }
    out[key] = value;
  }
  return out;
}

function intOpt(args, key, def, min = 0) {
  if (args[key] === undefined) {
    if (def === undefined) throw new PeerError("usage", `missing --${key}`);
    return def;
  }
  const s = String(args[key]);
  if (!/^-?\d+$/.test(s)) throw new PeerError("usage", `--${key} must be an integer, got '${s}'`);
  const v = Number(s);
  if (v < min) throw new PeerError("usage", `--${key} must be >= ${min}`);
  return v;
}

function idList(args, key, required) {
  const s = args[key];
  if (s === undefined || s === true) {
    if (required) throw new PeerError("usage", `missing --${key}`);
    return [];
  }
  const str = String(s).trim();
  if (str === "") return [];
  return str.split(",").map((t) => {
    const x = t.trim();
    if (!/^\d+$/.test(x)) throw new PeerError("usage", `--${key}: '${x}' is not a token id`);
    return Number(x);
  });
}

// ---------------------------------------------------------------------------------------------
// llama.cpp loading
const warnings = [];

async function loadLlama(gpu, threads) {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const opts = {
    // native: the Vulkan package's build, whose CPU backend is compiled for this CPU's instruction sets
    // (the CPU-only package is a generic build, several times slower), with no Vulkan device visible.
    gpu: gpu === "cpu" ? false : "vulkan",
    build: "never", // use the prebuilt binaries in @node-llama-cpp/*; never compile
    usePrebuiltBinaries: true,
    skipDownload: true, // never fetch llama.cpp sources
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      const m = String(message).trimEnd();
      if (m === "") return;
      if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
        warnings.push(`${level}: ${m}`);
      }
      process.stderr.write(`[llama.cpp ${level}] ${m}\n`);
    },
    maxThreads: threads,
    vramPadding: 0,
    ramPadding: 0,
  };
  try {
    return await getLlama(opts);
  } catch (e) {
    throw new PeerError("backend", `cannot load llama.cpp with gpu=${gpu}: ${e?.message ?? e}`);
  }
}

function checkModelFile(model) {
  if (model === undefined || model === true) throw new PeerError("usage", "missing --model");
  const p = path.resolve(String(model));
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    throw new PeerError("model_missing", `model file not found: ${p}`);
  }
  if (!st.isFile()) throw new PeerError("model_missing", `not a regular file: ${p}`);
  try {
    fs.accessSync(p, fs.constants.R_OK);
  } catch {
    throw new PeerError("model_missing", `model file not readable: ${p}`);
  }
  // node-llama-cpp's own GGUF reader can spin forever on a bad header (seen with a bogus version
  // number), so the header is checked here first: magic "GGUF", version 2 or 3, 24 header bytes.
  const head = Buffer.alloc(24);
  const fd = fs.openSync(p, "r");
  let got;
  try {
    got = fs.readSync(fd, head, 0, 24, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (got < 24) throw new PeerError("model_load", `llama.cpp cannot load ${p}: file too short for a GGUF header`);
  if (head.toString("latin1", 0, 4) !== "GGUF") throw new PeerError("model_load", `llama.cpp cannot load ${p}: no GGUF magic`);
  const version = head.readUInt32LE(4);
  if (version !== 2 && version !== 3) throw new PeerError("model_load", `llama.cpp cannot load ${p}: unsupported GGUF version ${version}`);
  return p;
}

async function loadModel(llama, modelPath, gpu, { vocabOnly = false } = {}) {
  try {
    return await llama.loadModel({
      modelPath,
      gpuLayers: gpu === "vulkan" ? "max" : 0,
      vocabOnly,
      ignoreMemorySafetyChecks: true,
    });
  } catch (e) {
    throw new PeerError("model_load", `llama.cpp cannot load ${modelPath}: ${e?.message ?? e}`);
  }
}

function defaultThreads() {
  const env = process.env.LAGVK_PEER_THREADS;
  if (env && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  const n = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

async function createContext(model, args, needed) {
  const ctxDefault = Math.max(256, Math.ceil(needed / 256) * 256);
  const contextSize = intOpt(args, "ctx", ctxDefault, 1);
  if (needed > contextSize) {
    throw new PeerError("usage", `${needed} tokens do not fit in --ctx ${contextSize}`);
  }
  const batchSize = intOpt(args, "batch", Math.min(contextSize, Math.max(512, needed)), 1);
  try {
    const context = await model.createContext({
      contextSize,
      batchSize,
      sequences: 1,
      threads: args.threadsResolved,
      flashAttention: args["flash-attn"] === true,
      ignoreMemorySafetyChecks: true,
    });
    return context;
  } catch (e) {
    throw new PeerError("model_load", `llama.cpp cannot create a context: ${e?.message ?? e}`);
  }
}

function vocabSize(model) {
  return model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length;
}

function checkIds(model, ids, what) {
  const n = vocabSize(model);
  if (n === undefined) return;
  for (const t of ids) {
    if (t >= n) throw new PeerError("usage", `${what}: token id ${t} is outside the vocabulary (${n} tokens)`);
  }
}

// A step entry from a probability map (sorted by llama.cpp from highest to lowest logit).
function stepEntry(probabilities, token, topK, candidates) {
  const top = [];
  let first = null;
  for (const [id, p] of probabilities) {
    if (first === null) first = [id, p];
    if (top.length >= topK) break;
    top.push([id, p]);
  }
  const e = {
    token: token,
    token_prob: token === null ? null : (probabilities.get(token) ?? 0),
    top_token: first ? first[0] : null,
    top_prob: first ? first[1] : null,
    top,
  };
  if (candidates.length > 0) e.candidates = candidates.map((c) => [c, probabilities.get(c) ?? 0]);
  return e;
}

// ---------------------------------------------------------------------------------------------
// commands
async function cmdGreedy(args, ctxInfo) {
  const tokens = idList(args, "tokens", true);
  if (tokens.length === 0) throw new PeerError("usage", "--tokens must hold at least one id");
  const n = intOpt(args, "n", undefined, 0);
  const topK = intOpt(args, "top", 5, 0);
  const { model } = ctxInfo;
  checkIds(model, tokens, "--tokens");
  const context = await createContext(model, args, tokens.length + n);
  const seq = context.getSequence();
  const out = [];
  const steps = [];
  const te = performance.now();
  if (n > 0) {
    // temperature 0 = llama.cpp's greedy sampler; the probabilities are the softmax of the raw logits.
    const it = seq.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 0, yieldEogToken: true });
    for await (const r of it) {
      steps.push(stepEntry(r.probabilities, r.token, topK, []));
      out.push(r.token);
      if (out.length >= n) break;
    }
  }
  const evalMs = performance.now() - te;
  await context.dispose();
  return { tokens: out, steps, n_prompt: tokens.length, ctx: context.contextSize, eval_ms: evalMs };
}

async function cmdScore(args, ctxInfo) {
  const topK = intOpt(args, "top", 5, 0);
  if (args.sequences !== undefined) {
    const sequences = readJsonFile(args.sequences, "--sequences");
    if (!Array.isArray(sequences) || sequences.some((q) => !Array.isArray(q?.tokens)))
      throw new PeerError("usage", '--sequences: the file must hold a JSON array of {"tokens", "continuation"}');
    const scores = [];
    for (const [i, q] of sequences.entries())
      scores.push(await scoreSequence(args, ctxInfo.model, q.tokens, q.continuation ?? [], [], topK, `--sequences[${i}]`));
    return { scores };
  }
  const prefix = idList(args, "tokens", true);
  const cont = idList(args, "continuation", false);
  const cands = idList(args, "candidates", false);
  return scoreSequence(args, ctxInfo.model, prefix, cont, cands, topK, "--tokens");
}

// Teacher-forced distributions after prefix, prefix + cont[0], ..., prefix + cont, in a fresh context.
async function scoreSequence(args, model, prefix, cont, cands, topK, what) {
  if (prefix.length === 0) throw new PeerError("usage", `${what} must hold at least one id`);
  checkIds(model, prefix, what);
  checkIds(model, cont, "--continuation");
  checkIds(model, cands, "--candidates");
  const all = prefix.concat(cont);
  const context = await createContext(model, args, all.length);
  const seq = context.getSequence();
  const first = prefix.length - 1; // index of the input whose output predicts cont[0]
  const input = all.map((t, i) =>
    i < first ? t : [t, { generateNext: { probabilities: true, token: true, options: { temperature: 0 } } }],
  );
  const te = performance.now();
  const res = await seq.controlledEvaluate(input);
  const evalMs = performance.now() - te;
  const steps = [];
  for (let i = first; i < all.length; i++) {
    const r = res[i];
    if (!r?.next?.probabilities) throw new PeerError("internal", `no output for input position ${i}`);
    const j = i - first;
    steps.push(stepEntry(r.next.probabilities, j < cont.length ? cont[j] : null, topK, cands));
  }
  await context.dispose();
  return { steps, n_prompt: prefix.length, ctx: context.contextSize, eval_ms: evalMs };
}

function readJsonFile(file, what) {
  try {
    return JSON.parse(fs.readFileSync(String(file), "utf8"));
  } catch (e) {
    throw new PeerError("usage", `${what}: cannot read JSON from ${file}: ${e?.message ?? e}`);
  }
}

async function cmdTokenize(args, ctxInfo) {
  if (args.texts !== undefined) {
    const texts = readJsonFile(args.texts, "--texts");
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
      throw new PeerError("usage", "--texts: the file must hold a JSON array of strings");
    return texts.map((t) => Array.from(ctxInfo.model.tokenize(t, args.special === true)));
  }
  const text = args.text;
  if (text === undefined || text === true) throw new PeerError("usage", "missing --text");
  const { model } = ctxInfo;
  const ids = model.tokenize(String(text), args.special === true);
  if (args.bos === true) {
    const bos = model.tokens.bos;
    if (bos == null) throw new PeerError("usage", "--bos: the model has no BOS token");
    ids.unshift(bos);
  }
  return ids;
}

// Renders conversations with the model's own Jinja template (tokenizer.chat_template) through the
// Jinja engine node-llama-cpp applies GGUF templates with, then tokenizes them as llama.cpp does with
// special tokens parsed: the reference for lagvk's hand-written template families.
async function cmdChat(args, ctxInfo) {
  if (args.messages === undefined || args.messages === true) throw new PeerError("usage", "missing --messages");
  const conversations = readJsonFile(args.messages, "--messages");
  if (!Array.isArray(conversations) || conversations.some((c) => !Array.isArray(c)))
    throw new PeerError("usage", "--messages: the file must hold a JSON array of conversations (arrays)");
  const { model } = ctxInfo;
  const source = model.fileInfo?.metadata?.tokenizer?.chat_template;
  if (typeof source !== "string") throw new PeerError("usage", "the model has no tokenizer.chat_template");
  const { Template } = await import("@huggingface/jinja");
  const template = new Template(source);
  return conversations.map((messages) => {
    const text = template.render({
      messages,
      add_generation_prompt: args["no-generation-prompt"] !== true,
      bos_token: model.tokens.bosString ?? "",
      eos_token: model.tokens.eosString ?? "",
    });
    return { text, tokens: Array.from(model.tokenize(text, true)) };
  });
}

// Deterministic pseudo-random prompt ids (xorshift32) avoiding the first 3 ids (usually <unk>, <s>, </s>).
function benchPrompt(n, vocab) {
  let s = 0x9e3779b9 >>> 0;
  const out = [];
  const lo = Math.min(3, vocab - 1);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.push(lo + (s % (vocab - lo)));
  }
  return out;
}

function median(xs) {
  const a = xs.slice().sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

async function cmdBench(args, ctxInfo) {
  const P = intOpt(args, "prompt-tokens", 128, 1);
  const G = intOpt(args, "gen-tokens", 64, 1);
  const reps = intOpt(args, "reps", 3, 1);
  const warmup = intOpt(args, "warmup", 1, 0);
  const { model } = ctxInfo;
  const vocab = vocabSize(model) ?? 32000;
  const prompt = benchPrompt(P, vocab);
  const t0 = performance.now();
  const context = await createContext(model, args, P + G);
  const ctxMs = performance.now() - t0;
  const seq = context.getSequence();
  const greedy = { generateNext: { token: true, options: { temperature: 0 } } };
  const runs = [];
  const warmupMs = [];
  for (let r = 0; r < warmup + reps; r++) {
    await seq.clearHistory();
    // prefill: the whole prompt in one llama_decode (n_batch = n_ubatch >= P), logits for the last
    // position only (like llama-bench's pp test), plus the greedy pick of the first new token.
    const input = prompt.map((t, i) => (i === P - 1 ? [t, greedy] : t));
    const tp = performance.now();
    const pre = await seq.controlledEvaluate(input);
    const prefillMs = performance.now() - tp;
    let tok = pre[P - 1]?.next?.token;
    if (tok == null) throw new PeerError("internal", "prefill produced no token");
    // decode: G single-token llama_decode calls, each feeding the previous greedy token back and
    // computing the full logits + argmax (the sampling is part of the timed loop, as in real use).
    const td = performance.now();
    for (let g = 0; g < G; g++) {
      const res = await seq.controlledEvaluate([[tok, greedy]]);
      tok = res[0]?.next?.token;
      if (tok == null) throw new PeerError("internal", "decode produced no token");
    }
    const decodeMs = performance.now() - td;
    if (r < warmup) warmupMs.push(prefillMs + decodeMs);
    else runs.push({ prefill_ms: prefillMs, decode_ms: decodeMs, prefill_tps: (P * 1000) / prefillMs, decode_tps: (G * 1000) / decodeMs });
  }
  await context.dispose();
  return {
    prefill_tps: median(runs.map((x) => x.prefill_tps)),
    decode_tps: median(runs.map((x) => x.decode_tps)),
    load_ms: ctxInfo.loadMs + ctxMs,
    model_load_ms: ctxInfo.loadMs,
    context_ms: ctxMs,
    prompt_tokens: P,
    gen_tokens: G,
    reps,
    warmup,
    warmup_ms: warmupMs,
    runs,
  };
}

// Pooled sentence embeddings from llama.cpp (llama_get_embeddings_seq behind node-llama-cpp's embedding
// context), L2-normalised here as lagvk embed prints them, so the two compare element by element.
async function cmdEmbed(args, ctxInfo) {
  if (args.texts === undefined || args.texts === true) throw new PeerError("usage", "missing --texts");
  const texts = readJsonFile(args.texts, "--texts");
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string" || t === ""))
    throw new PeerError("usage", "--texts: the file must hold a JSON array of non-empty strings");
  const { model } = ctxInfo;
  const longest = Math.max(1, ...texts.map((t) => model.tokenize(t).length + 2));
  const contextSize = intOpt(args, "ctx", Math.max(256, Math.ceil((longest + 1) / 256) * 256), 1);
  let context;
  try {
    context = await model.createEmbeddingContext({
      contextSize,
      batchSize: contextSize,
      threads: args.threadsResolved,
      ignoreMemorySafetyChecks: true,
    });
  } catch (e) {
    throw new PeerError("model_load", `llama.cpp cannot create an embedding context: ${e?.message ?? e}`);
  }
  const embeddings = [];
  for (const text of texts) {
    const vector = Array.from((await context.getEmbeddingFor(text)).vector);
    const norm = Math.sqrt(vector.reduce((s, x) => s + x * x, 0));
    embeddings.push(norm > 0 ? vector.map((x) => x / norm) : vector);
  }
  await context.dispose();
  return { embeddings, dim: embeddings[0]?.length ?? 0 };
}

async function cmdInfo(args, ctxInfo) {
  const { model } = ctxInfo;
  const md = model.fileInfo?.metadata ?? {};
  return {
    architecture: md.general?.architecture ?? null,
    file_type: md.general?.file_type ?? null,
    size_bytes: model.size,
    type: model.typeDescription,
    n_params: model.fileInsights?.totalParameters ?? null,
    layers: md[md.general?.architecture]?.block_count ?? null,
    train_ctx: model.trainContextSize,
    vocab_size: vocabSize(model) ?? null,
    vocab_type: model.vocabularyType ?? null,
    bos: model.tokens.bos ?? null,
    eos: model.tokens.eos ?? null,
    should_prepend_bos: model.tokens.shouldPrependBosToken ?? null,
    gpu_layers: model.gpuLayers,
  };
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const cmd = args._[0];
  if (args.help || cmd === undefined || cmd === "help") {
    process.stdout.write(HELP + "\n");
    return cmd === undefined && !args.help ? EXIT.usage : 0;
  }
  const commands = {
    greedy: cmdGreedy,
    score: cmdScore,
    tokenize: cmdTokenize,
    chat: cmdChat,
    bench: cmdBench,
    info: cmdInfo,
    embed: cmdEmbed,
  };
  const fn = commands[cmd];
  if (!fn) throw new PeerError("usage", `unknown command '${cmd}' (greedy, score, tokenize, chat, bench, info, embed)`);
  const gpu = args.gpu === undefined ? "cpu" : String(args.gpu);
  if (gpu !== "cpu" && gpu !== "vulkan" && gpu !== "native")
    throw new PeerError("usage", `--gpu must be cpu, vulkan or native, got '${gpu}'`);
  // ggml-vulkan reads the list of visible devices when the backend initialises: none for native.
  if (gpu === "native") process.env.GGML_VK_VISIBLE_DEVICES = "";
  args.threadsResolved = intOpt(args, "threads", defaultThreads(), 1);
  const modelPath = checkModelFile(args.model);

  const tl = performance.now();
  const llama = await loadLlama(gpu, args.threadsResolved);
  const backendMs = performance.now() - tl;
  let device = os.cpus()[0]?.model?.trim() ?? "cpu";
  if (gpu === "vulkan") {
    const names = await llama.getGpuDeviceNames();
    if ((!names || names.length === 0) && process.env.GGML_VK_VISIBLE_DEVICES === undefined) {
      // ggml-vulkan ignores CPU-type Vulkan devices (Mesa's lavapipe/llvmpipe) unless they are listed
      // in GGML_VK_VISIBLE_DEVICES, which is read when the backend initialises: run again with
      // device 0 made visible.
      await llama.dispose();
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...argv], {
        env: { ...process.env, GGML_VK_VISIBLE_DEVICES: "0" },
        stdio: "inherit",
      });
      return child.status ?? 1;
    }
    if (!names || names.length === 0) throw new PeerError("backend", "llama.cpp's Vulkan backend found no device");
    device = names.join(", ");
  }
  const tm = performance.now();
  const model = await loadModel(llama, modelPath, gpu, { vocabOnly: cmd === "tokenize" || cmd === "chat" });
  const loadMs = performance.now() - tm;
  const result = await fn(args, { llama, model, loadMs });
  await model.dispose();
  if (cmd === "tokenize" || cmd === "chat") {
    emit(result);
  } else {
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules/node-llama-cpp/package.json"), "utf8"));
    if (cmd === "info") {
      result.backend_ms = backendMs;
      result.model_load_ms = loadMs;
    }
    emit({
      ...result,
      backend: gpu,
      device,
      threads: args.threadsResolved,
      llama_cpp: llama.llamaCppRelease.release,
      node_llama_cpp: pkg.version,
      warnings,
    });
  }
  await llama.dispose();
  return 0;
}

// One fs.writeSync call may take only part of a large answer when stdout is a pipe (it returns the bytes
// it wrote; a non-blocking pipe may refuse with EAGAIN while the reader catches up), and the process
// exits right after: write until every byte is out, or a long score answer arrives cut short.
function emit(obj) {
  const bytes = Buffer.from(JSON.stringify(obj) + "\n");
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let done = 0; done < bytes.length; ) {
    try {
      done += fs.writeSync(1, bytes, done, bytes.length - done);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 5);  // the reader has not drained the pipe yet
    }
  }
}

main()
  .then((code) => process.exit(code))
  .catch((e) => {
    const code = e instanceof PeerError ? e.code : "internal";
    const message = e instanceof PeerError ? e.message : String(e?.stack ?? e);
    try {
      emit({ error: message, code });
    } catch {}
    process.stderr.write(`llama_ref: ${message}\n`);
    process.exit(EXIT[code] ?? 1);
  });
