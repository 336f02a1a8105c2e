#!/usr/bin/env bash
# Installs llama.cpp's gguf-py package (PyPI "gguf", pinned in tests/gguf_ref/requirements.txt) into
# tests/gguf_ref/venv: the independent decoder and GGUF reader that tests/test_quant.cpp,
# tests/test_kernels.cpp and tests/test_ref_forward.cpp judge lagvk's decoders, GPU kernels and model
# config against. Without it those checks skip, or fail under LAGVK_REQUIRE_REFERENCES=1
# (scripts/test.sh). Idempotent: does nothing when the venv already matches the requirements.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ref=$root/tests/gguf_ref
venv=$ref/venv
python=${LAGVK_PYTHON:-/usr/bin/python3}
stamp=$venv/.lagvk-requirements.sha256
want=$(sha256sum "$ref/requirements.txt" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup_gguf_ref: installing gguf-py in tests/gguf_ref/venv"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ref/requirements.txt"
# Verified, not assumed: a hand-made Q8_0 block (fp16 scale 0.5 = 0x3800, quants 0..31) must decode to
# 0.5 * i, and the reported version must be the pinned one.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '\x00\x38' > "$probe/block"
for i in $(seq 0 31); do printf "\\x$(printf %02x "$i")" >> "$probe/block"; done
"$venv/bin/python" -B "$ref/gguf_ref.py" dequantize Q8_0 "$probe/block" "$probe/values"
if ! "$venv/bin/python" -c "import numpy, sys; v = numpy.fromfile(sys.argv[1], numpy.float32); \
sys.exit(0 if list(v) == [0.5 * i for i in range(32)] else 1)" "$probe/values"; then
  echo "setup_gguf_ref: gguf-py does not decode a Q8_0 block correctly after install" >&2
  exit 1
fi
version=$("$venv/bin/python" -B "$ref/gguf_ref.py" version)
if ! grep -qx "gguf==$version" "$ref/requirements.txt"; then
  echo "setup_gguf_ref: installed gguf $version is not the version tests/gguf_ref/requirements.txt pins" >&2
  exit 1
fi
echo "$want" > "$stamp"
