#!/usr/bin/env python3
"""Quantizes a GGUF model with llama.cpp's own llama_model_quantize (the function behind llama-quantize),
from the libllama.so that node-llama-cpp ships prebuilt (tools/peer/node_modules, installed by
scripts/setup_peer.sh), called through ctypes with llama.cpp's default parameters and the file type asked
for. It is the reference for the types `lagvk quantize` chooses per tensor and for its error per tensor.

usage: llama_quantize.py IN.gguf OUT.gguf FTYPE   FTYPE: llama.cpp's LLAMA_FTYPE_MOSTLY_* number
                                                 (7 Q8_0, 15 Q4_K_M, 17 Q5_K_M, 18 Q6_K)
"""
import ctypes
import os
import struct
import sys

BINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "peer", "node_modules",
                    "@node-llama-cpp", "linux-x64", "bins", "linux-x64")


class QuantizeParams(ctypes.Structure):
    """llama_model_quantize_params, as opaque bytes (larger than the struct): only `ftype` is set, the
    second 32-bit field after `int32_t nthread`."""
    _fields_ = [("raw", ctypes.c_uint8 * 512)]


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: llama_quantize.py IN.gguf OUT.gguf FTYPE\n")
        return 2
    bins = os.path.realpath(BINS)
    for name in ("libggml-base.so", "libggml.v0.5.0.so"):
        ctypes.CDLL(os.path.join(bins, name), mode=ctypes.RTLD_GLOBAL)
    llama = ctypes.CDLL(os.path.join(bins, "libllama.v0.5.0.so"), mode=ctypes.RTLD_GLOBAL)
    llama.llama_model_quantize_default_params.restype = QuantizeParams
    llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(QuantizeParams)]
    llama.llama_model_quantize.restype = ctypes.c_uint32
    params = llama.llama_model_quantize_default_params()
    params.raw[4:8] = (ctypes.c_uint8 * 4)(*struct.pack("<i", int(argv[3])))
    llama.llama_backend_init()
    status = llama.llama_model_quantize(argv[1].encode(), argv[2].encode(), ctypes.byref(params))
    if status != 0:
        sys.stderr.write(f"llama_model_quantize failed ({status})\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
