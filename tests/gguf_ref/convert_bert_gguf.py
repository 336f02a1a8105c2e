#!/usr/bin/env python3
"""Converts a Hugging Face BERT sentence-embedding model (safetensors) into a GGUF file for arch `bert`.

usage: convert_bert_gguf.py MODEL_DIR OUT.gguf [--type f16|f32] [--name NAME]

MODEL_DIR holds what sentence-transformers publishes: config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, and optionally modules.json with a pooling module (1_Pooling/config.json).

The file carries the tensor names, tensor types and metadata that llama.cpp's own converter
(convert_hf_to_gguf.py, class BertModel) writes for the same directory, so lagvk and llama.cpp read
the same bytes. That converter needs torch and transformers; this one needs only gguf-py and numpy
(tests/gguf_ref/venv): safetensors is an 8-byte little-endian header length, a JSON header of
{name: {dtype, shape, data_offsets}}, then the raw little-endian tensor data.

Facts followed (from llama.cpp's converter and gguf-py's constants, not its code):
  - names: gguf-py's tensor name map for MODEL_ARCH.BERT ("embeddings.word_embeddings" -> token_embd,
    "encoder.layer.N.attention.output.LayerNorm" -> blk.N.attn_output_norm, ...); a leading "bert."
    is dropped, and embeddings.position_ids and the pooler are not written;
  - types: 1-d tensors, biases, norms, position_embd and token_types are F32; other matrices are F16
    in an F16 file;
  - vocabulary: tokenizer.ggml.model "bert", ids in vocabulary order, special added tokens CONTROL,
    other tokens NORMAL and written in the "phantom space" form: a word-initial piece gets a leading
    U+2581, a "##" continuation loses its "##", control tokens stay as they are;
  - hyper-parameters: block_count, context_length, embedding_length, feed_forward_length,
    attention.head_count, attention.layer_norm_epsilon, attention.causal = false, pooling_type from the
    sentence-transformers pooling module (mean 1, cls 2, last 3), tokenizer.ggml.token_type_count;
  - special tokens and add_bos/add_eos flags: gguf-py's SpecialVocab over the same directory, plus what
    newer gguf-py versions add there and the pinned 0.19.0 lacks: tokenizer.ggml.cls_token_id, and the
    BertNormalizer's options as tokenizer.ggml.normalizer.lowercase / .strip_accents (each only when
    tokenizer.json states it; llama.cpp strips accents when lower-casing unless told otherwise).

The output is written to OUT.tmp and renamed, so an interrupted run never leaves a truncated OUT.
"""

import argparse
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import gguf

# safetensors dtype names -> numpy little-endian dtypes (only the float types BERT checkpoints use).
SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}

# The pre-tokenizer name llama.cpp's converter derives by hashing the token ids of a fixed text; for the
# uncased BERT WordPiece vocabulary (bert-base-uncased, all-MiniLM-L6-v2, bge-small-en-v1.5) it is
# "bert-bge". llama.cpp reads it only for BPE vocabularies; it is written for a like-for-like file.
BERT_PRE_TOKENIZER = "bert-bge"

# Tensors llama.cpp's converter leaves out: position ids are implicit, and the pooler and masked-LM head
# are not used for embeddings.
SKIPPED_PREFIXES = ("embeddings.position_ids", "pooler.", "cls.predictions", "cls.seq_relationship")

# Pooling types as gguf-py numbers them (gguf.PoolingType), by sentence-transformers' pooling flags.
POOLING_FLAGS = (
    ("pooling_mode_mean_tokens", gguf.PoolingType.MEAN),
    ("pooling_mode_cls_token", gguf.PoolingType.CLS),
    ("pooling_mode_lasttoken", gguf.PoolingType.LAST),
)


def fail(message):
    print(f"convert_bert_gguf: {message}", file=sys.stderr)
    sys.exit(1)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")


def read_safetensors(path):
    """{name: numpy array} for every tensor of a safetensors file, read with numpy only."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data_start = 8 + header_len
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in SAFETENSORS_DTYPES:
                if name.startswith(SKIPPED_PREFIXES):
                    continue
                fail(f"{path}: tensor {name} has dtype {info['dtype']}, which this converter does not read")
            begin, end = info["data_offsets"]
            f.seek(data_start + begin)
            raw = f.read(end - begin)
            array = np.frombuffer(raw, dtype=SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
            tensors[name] = array.astype(np.float32)
        return tensors


def hf_name(name):
    """The checkpoint name in the form gguf-py's map knows: no "bert." prefix, gamma/beta as weight/bias."""
    if name.startswith("bert."):
        name = name[len("bert."):]
    if name.endswith(".gamma"):
        name = name[: -len(".gamma")] + ".weight"
    if name.endswith(".beta"):
        name = name[: -len(".beta")] + ".bias"
    return name


def stored_type(gguf_name, array, want_f16):
    """F16 only for 2-d .weight matrices that llama.cpp's converter does not force to F32."""
    if not want_f16 or array.ndim <= 1 or not gguf_name.endswith(".weight"):
        return gguf.GGMLQuantizationType.F32
    if gguf_name.endswith("_norm.weight") or gguf_name in ("position_embd.weight", "token_types.weight"):
        return gguf.GGMLQuantizationType.F32
    return gguf.GGMLQuantizationType.F16


def pooling_type(model_dir):
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return None
    for module in read_json(modules):
        if module["type"].endswith("Pooling"):
            config = read_json(model_dir / module["path"] / "config.json")
            for flag, kind in POOLING_FLAGS:
                if config.get(flag):
                    return kind
            fail(f"{model_dir}: the pooling module uses a mode other than mean, cls or last token")
    return None


def vocabulary(model_dir, n_vocab):
    """(tokens, token types) in id order, in llama.cpp's phantom-space form."""
    tokenizer = read_json(model_dir / "tokenizer.json")
    model = tokenizer.get("model", {})
    if model.get("type") != "WordPiece":
        fail(f"{model_dir}/tokenizer.json: model type {model.get('type')!r} is not WordPiece")
    by_id = {i: t for t, i in model["vocab"].items()}
    added = {a["id"]: a for a in tokenizer.get("added_tokens", [])}
    for a in added.values():
        by_id[a["id"]] = a["content"]
    tokens, types = [], []
    for i in range(n_vocab):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        text = by_id[i]
        if i in added:
            kind = gguf.TokenType.CONTROL if added[i].get("special") else gguf.TokenType.USER_DEFINED
        else:
            kind = gguf.TokenType.NORMAL
        if kind != gguf.TokenType.CONTROL:
            text = text[2:] if text.startswith("##") else "\u2581" + text
        tokens.append(text)
        types.append(kind)
    return tokens, types


def write_bert_extras(writer, model_dir, tokens):
    """The CLS id and the normaliser's options, as llama.cpp's converter of this release writes them."""
    config = read_json(model_dir / "tokenizer_config.json") if (model_dir / "tokenizer_config.json").is_file() else {}
    cls = config.get("cls_token")
    if isinstance(cls, str) and cls in tokens:
        writer.add_uint32("tokenizer.ggml.cls_token_id", tokens.index(cls))
    normalizer = read_json(model_dir / "tokenizer.json").get("normalizer") or {}
    if normalizer.get("type") == "BertNormalizer":
        if normalizer.get("lowercase") is not None:
            writer.add_bool("tokenizer.ggml.normalizer.lowercase", bool(normalizer["lowercase"]))
        if normalizer.get("strip_accents") is not None:
            writer.add_bool("tokenizer.ggml.normalizer.strip_accents", bool(normalizer["strip_accents"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--type", choices=("f16", "f32"), default="f16")
    parser.add_argument("--name", default=None, help="general.name (default: the directory's name)")
    args = parser.parse_args()

    config = read_json(args.model_dir / "config.json")
    if config.get("model_type") != "bert":
        fail(f"{args.model_dir}/config.json: model_type {config.get('model_type')!r} is not bert")
    if config.get("position_embedding_type", "absolute") != "absolute":
        fail(f"{args.model_dir}: only absolute position embeddings are supported")
    n_layers = int(config["num_hidden_layers"])
    n_vocab = int(config["vocab_size"])
    want_f16 = args.type == "f16"

    tmp = Path(str(args.out) + ".tmp")
    writer = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(args.name or args.model_dir.name)
    writer.add_block_count(n_layers)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if want_f16 else gguf.LlamaFileType.ALL_F32)
    writer.add_causal_attention(False)
    if (pooling := pooling_type(args.model_dir)) is not None:
        writer.add_pooling_type(pooling)

    writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
    tokens, types = vocabulary(args.model_dir, n_vocab)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre(BERT_PRE_TOKENIZER)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(args.model_dir, n_vocab=len(tokens)).add_to_gguf(writer, quiet=True)
    write_bert_extras(writer, args.model_dir, tokens)

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
    for name, array in read_safetensors(args.model_dir / "model.safetensors").items():
        name = hf_name(name)
        if name.startswith(SKIPPED_PREFIXES):
            continue
        gguf_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            fail(f"tensor {name} has no llama.cpp name for arch bert")
        kind = stored_type(gguf_name, array, want_f16)
        data = array.astype(np.float16 if kind == gguf.GGMLQuantizationType.F16 else np.float32)
        writer.add_tensor(gguf_name, data, raw_dtype=kind)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
