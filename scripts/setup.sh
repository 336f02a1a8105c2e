#!/usr/bin/env bash
# Installs every Debian package lagvk needs to build, test and benchmark.
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang-format
  libvulkan-dev glslang-tools vulkan-tools mesa-vulkan-drivers vulkan-validationlayers
  libglm-dev liblmdb-dev libfmt-dev nlohmann-json3-dev libgtest-dev libxxhash-dev libpcre2-dev
  # libFuzzer and its sanitizer runtimes for the fuzz targets (scripts/fuzz.sh, tests/fuzz)
  clang libclang-rt-14-dev
  # the package tests (tests/install): cpack -G DEB finds its binaries with file(1)
  file
  # venv for the gguf-py reference decoder (scripts/setup_gguf_ref.sh)
  python3 python3-venv

)
# node/npm (llama.cpp peer for tests and benchmarks) may come from Debian or be preinstalled.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
"$(dirname "$0")/install_packages.sh" "${packages[@]}"
"$(dirname "$0")/setup_peer.sh"
"$(dirname "$0")/setup_tokenizer_ref.sh"
"$(dirname "$0")/setup_gguf_ref.sh"
