"""A minimal GGUF v3 reader for the trainers: metadata and F32/F16 tensors (what `lagvk make-model --type
f16` writes), enough to load a shipped decoder into model.Model. The format's facts only: header, typed
metadata, tensor infos, data aligned to general.alignment (32 by default)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_TENSOR_DTYPES = {0: np.float32, 1: np.float16}


class Reader:
    def __init__(self, data: bytes, at: int = 0):
        self.data, self.at = data, at

    def take(self, fmt: str):
        v = struct.unpack_from(fmt, self.data, self.at)[0]
        self.at += struct.calcsize(fmt)
        return v

    def string(self) -> str:
        n = self.take("<Q")
        s = self.data[self.at:self.at + n].decode("utf-8", "replace")
        self.at += n
        return s

    def value(self, kind: int):
        if kind == 8:
            return self.string()
        if kind == 9:
            inner, n = self.take("<I"), self.take("<Q")
            return [self.value(inner) for _ in range(n)]
        if kind not in _SCALARS:
            raise ValueError(f"unknown GGUF metadata type {kind}")
        return self.take(_SCALARS[kind])


def read_gguf(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, tensors): each tensor as a float32 array shaped as torch holds it (GGUF ne reversed)."""
    data = Path(path).read_bytes()
    r = Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file")
    r.at = 4
    version, n_tensors, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    if version != 3:
        raise ValueError(f"{path}: GGUF version {version}, this reader knows 3")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("<Q") for _ in range(r.take("<I"))]
        infos.append((name, dims, r.take("<I"), r.take("<Q")))
    align = int(meta.get("general.alignment", 32))
    start = (r.at + align - 1) // align * align
    tensors = {}
    for name, dims, kind, offset in infos:
        if kind not in _TENSOR_DTYPES:
            raise ValueError(f"{path}: tensor {name} has type {kind}; read an F16 or F32 file")
        dtype = _TENSOR_DTYPES[kind]
        count = int(np.prod(dims))
        a = np.frombuffer(data, dtype=dtype, count=count, offset=start + offset)
        tensors[name] = a.astype(np.float32).reshape(list(reversed(dims)))
    return meta, tensors
