#!/usr/bin/env python3
"""Quantizes float32 values with ggml's own quantizers: ggml_quantize_chunk of the libggml-base.so that
node-llama-cpp ships prebuilt (tools/peer/node_modules, installed by scripts/setup_peer.sh), called
through ctypes with no importance matrix, as llama-quantize does without --imatrix. It is the reference
for the error of lagvk's encoders of types gguf-py cannot quantize (the K-quants, IQ4_NL, IQ4_XS).

usage: ggml_quantize.py TYPE ROW IN OUT   TYPE: "Q4_K", ...; ROW: elements per row (a multiple of the
                                          type's block); IN: float32 values; OUT: ggml's blocks
"""
import ctypes
import os
import sys

import numpy as np
import gguf

LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "peer", "node_modules",
                       "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "libggml-base.so")


def main(argv):
    if len(argv) != 5:
        sys.stderr.write("usage: ggml_quantize.py TYPE ROW IN OUT\n")
        return 2
    qtype = gguf.GGMLQuantizationType[argv[1].upper()]
    row = int(argv[2])
    values = np.ascontiguousarray(np.fromfile(argv[3], dtype=np.float32))
    if row <= 0 or values.size % row != 0:
        sys.stderr.write(f"{values.size} values are not whole rows of {row}\n")
        return 2
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    lib = ctypes.CDLL(LIBRARY)
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    lib.ggml_quantize_init.argtypes = [ctypes.c_int]
    out = np.zeros(values.size // block * size, dtype=np.uint8)
    lib.ggml_quantize_init(int(qtype))
    written = lib.ggml_quantize_chunk(int(qtype), values.ctypes.data, out.ctypes.data, 0, values.size // row,
                                      row, None)
    if written != out.size:
        sys.stderr.write(f"ggml wrote {written} bytes, expected {out.size}\n")
        return 1
    out.tofile(argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
