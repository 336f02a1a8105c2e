#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every quantized tensor dequantized, using llama.cpp's gguf-py.

usage: dequantize_gguf.py IN.gguf OUT.gguf

Matrices become F16: gguf-py's float32 values (scale * quant (+ min)) rounded to the nearest F16, a
relative change of at most 2^-11 per weight; lagvk and llama.cpp then read the same rounded copy, so
agreement tests compare like with like. Vectors (norm weights, biases) stay or become F32, as llama.cpp's
converter writes them. Every metadata key is copied with its own type (tokenizer, chat template, rope
parameters), except general.file_type, which says F16 afterwards. The output is written to OUT.tmp and
renamed, so an interrupted run never leaves a truncated OUT behind.
"""

import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType
from gguf.quants import dequantize

# Written by GGUFWriter itself (header fields and the architecture it is constructed with) or replaced.
SKIPPED_KEYS = {"general.architecture", "general.file_type"}


def field_value(field):
    """The field's value in the form GGUFWriter.add_key_value takes, with its type and sub-type."""
    vtype = field.types[0]
    if vtype == GGUFValueType.ARRAY:
        return field.contents(), vtype, field.types[1]
    return field.contents(), vtype, None


def copy_metadata(reader, writer):
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in SKIPPED_KEYS:
            continue
        value, vtype, sub_type = field_value(field)
        writer.add_key_value(key, value, vtype, sub_type)
    writer.add_file_type(LlamaFileType.MOSTLY_F16)


def dequantized(tensor):
    """The tensor's values in numpy order (the reverse of GGUF's dimension order): F16 or F32."""
    kind = GGMLQuantizationType(tensor.tensor_type)
    if kind in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
        values = np.asarray(tensor.data, dtype=np.float32)
    else:
        values = dequantize(tensor.data, kind)
    shape = tuple(int(d) for d in reversed(tensor.shape))
    values = values.reshape(shape)
    return values.astype(np.float32 if values.ndim == 1 else np.float16)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: dequantize_gguf.py IN.gguf OUT.gguf\n")
        return 2
    source, target = argv[1], argv[2]
    reader = GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    temp = target + ".tmp"
    writer = GGUFWriter(temp, arch)
    copy_metadata(reader, writer)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, dequantized(tensor))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(temp, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
