#!/usr/bin/env bash
# Installs the real OpenAI clients that tests/test_server.cpp and tests/test_server_tools_http.cpp run against
# lagvk serve (tests/server: the official `openai` npm SDK and LangChain JS, @langchain/openai 0.6 with
# @langchain/core 0.3, the last lines that run on node 20; versions pinned in package-lock.json). Without them that test skips, or
# fails under LAGVK_REQUIRE_REFERENCES=1 (scripts/test.sh). Idempotent: does nothing when node_modules
# already matches the lock file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
clients=$root/tests/server
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup_server_clients: node and npm are required (scripts/setup.sh installs them)" >&2
  exit 1
fi
stamp=$clients/node_modules/.lagvk-lock.sha256
want=$(sha256sum "$clients/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup_server_clients: installing the OpenAI SDK and LangChain JS in tests/server (npm ci)"
(cd "$clients" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
# Verified, not assumed: the SDK must load, or the install failed.
if ! (cd "$clients" && node -e "import('openai').then((m) => { if (!m.default) process.exit(1); })"); then
  echo "setup_server_clients: the openai package does not load after npm ci" >&2
  exit 1
fi
if ! (cd "$clients" && node -e "import('@langchain/openai').then((m) => { if (!m.ChatOpenAI) process.exit(1); })"); then
  echo "setup_server_clients: the @langchain/openai package does not load after npm ci" >&2
  exit 1
fi
echo "$want" > "$stamp"
