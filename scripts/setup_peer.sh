#!/usr/bin/env bash
# Installs the llama.cpp reference peer (tools/peer: node-llama-cpp with its prebuilt CPU and Vulkan
# llama.cpp binaries, versions pinned in tools/peer/package-lock.json). Idempotent: does nothing when
# node_modules already matches the lock file.
#
# --ignore-scripts: node-llama-cpp's postinstall would try to download/build llama.cpp; the prebuilt
#   binaries ship in @node-llama-cpp/linux-x64 and @node-llama-cpp/linux-x64-vulkan, which are direct
#   dependencies, so nothing else is needed.
# --omit=optional: skips node-llama-cpp's other platform packages (CUDA builds alone are ~540 MB).
#   The lock file carries os/cpu-only entries for the platform packages whose metadata the registry
#   did not serve when it was written; npm skips them on Linux x64 (they never match os/cpu).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peer=$root/tools/peer
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup_peer: node and npm are required (scripts/setup.sh installs them)" >&2
  exit 1
fi
stamp=$peer/node_modules/.lagvk-peer-lock.sha256
want=$(sha256sum "$peer/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   [ -f "$peer/node_modules/node-llama-cpp/package.json" ] &&
   [ -d "$peer/node_modules/@node-llama-cpp/linux-x64/bins" ] &&
   [ -d "$peer/node_modules/@node-llama-cpp/linux-x64-vulkan/bins" ]; then
  exit 0
fi
echo "setup_peer: installing the llama.cpp peer in tools/peer (npm ci)"
(cd "$peer" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error)
# Verified, not assumed: a changed package layout must fail here, not turn the peer's tests into skips.
for d in node-llama-cpp/package.json @node-llama-cpp/linux-x64/bins @node-llama-cpp/linux-x64-vulkan/bins; do
  if [ ! -e "$peer/node_modules/$d" ]; then
    echo "setup_peer: npm ci left no tools/peer/node_modules/$d; the peer's package layout changed" >&2
    exit 1
  fi
done
if ! (cd "$peer" && node --input-type=module -e "await import('node-llama-cpp')"); then
  echo "setup_peer: node cannot load node-llama-cpp from tools/peer" >&2
  exit 1
fi
echo "$want" > "$stamp"
