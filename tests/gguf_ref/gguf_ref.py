"""An outside reference for lagvk's tests: llama.cpp's gguf-py package (installed by
scripts/setup_gguf_ref.sh into tests/gguf_ref/venv), driven through files so the C++ tests need no
Python bindings.

  gguf_ref.py dequantize TYPE IN OUT   IN: raw ggml blocks of TYPE ("Q5_K", ...); OUT: float32 values
  gguf_ref.py metadata MODEL OUT_DIR    OUT_DIR/metadata.json: every key-value pair and tensor (name,
                                        type, shape); OUT_DIR/<tensor>.f32: each tensor dequantized
  gguf_ref.py quantize TYPE IN OUT     IN: float32 values; OUT: gguf-py's blocks of TYPE (its ports of
                                        ggml's reference quantizers)
  gguf_ref.py type TYPE                 prints TYPE's ggml id, block elements and block bytes
  gguf_ref.py version                   prints the gguf package version
"""
import json
import os
import sys
from importlib import metadata as package_metadata

import numpy as np
import gguf


def dequantize(type_name: str, src: str, dst: str) -> None:
    qtype = gguf.GGMLQuantizationType[type_name.upper()]
    raw = np.fromfile(src, dtype=np.uint8)
    values = gguf.quants.dequantize(raw, qtype).astype(np.float32, copy=False)
    values.reshape(-1).tofile(dst)


def quantize(type_name: str, src: str, dst: str) -> None:
    qtype = gguf.GGMLQuantizationType[type_name.upper()]
    values = np.fromfile(src, dtype=np.float32)
    gguf.quants.quantize(values.reshape(1, -1), qtype).reshape(-1).view(np.uint8).tofile(dst)


def type_traits(type_name: str) -> None:
    qtype = gguf.GGMLQuantizationType[type_name.upper()]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    print(int(qtype), block, size)


def field_value(field: gguf.ReaderField):
    value = field.contents()
    if isinstance(value, (np.generic,)):
        return value.item()
    return value


def dump_model(path: str, out_dir: str) -> None:
    reader = gguf.GGUFReader(path)
    kv = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name.startswith("tokenizer.ggml."):
            continue  # file header fields, vocabulary arrays: not model configuration
        kv[name] = field_value(field)
    tensors = []
    for t in reader.tensors:
        values = gguf.quants.dequantize(np.asarray(t.data).reshape(-1).view(np.uint8), t.tensor_type)
        values.astype(np.float32, copy=False).reshape(-1).tofile(os.path.join(out_dir, t.name + ".f32"))
        # ggml order: shape[0] is the row length (GGUF stores dimensions innermost first).
        tensors.append({"name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in t.shape]})
    with open(os.path.join(out_dir, "metadata.json"), "w") as f:
        json.dump({"kv": kv, "tensors": tensors}, f)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "version":
        print(package_metadata.version("gguf"))
        return 0
    if len(argv) == 5 and argv[1] == "dequantize":
        dequantize(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 5 and argv[1] == "quantize":
        quantize(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 3 and argv[1] == "type":
        type_traits(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "metadata":
        dump_model(argv[2], argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
