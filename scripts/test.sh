#!/usr/bin/env bash
# Installs everything (the training tools' packages too), builds lagvk and runs the whole test suite:
# the release build, then the sanitizer (ASan + UBSan) build, both under the Khronos validation layer,
# then a bounded libFuzzer run of every fuzz target (clang, ASan + UBSan; tests/fuzz/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Every outside reference (llama.cpp peer, reference tokenizers) is installed below: a test that finds
# one missing fails instead of skipping (tests/support/references.hpp).
export LAGVK_REQUIRE_REFERENCES=1
"$root/scripts/setup.sh"
"$root/tools/train/setup.sh"  # PyTorch: the training model's test
"$root/scripts/check_format.sh"
"$root/scripts/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure --timeout 1200 -j"$(nproc)")
"$root/scripts/build.sh" "$root/build-asan" -DLAGVK_SANITIZE=ON -DLAGVK_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Leaks are checked in every test but those that load a Vulkan driver (Mesa's JIT and loader keep
# allocations alive until exit): tests/CMakeLists.txt sets ASAN_OPTIONS per test (LAGVK_DRIVER_TESTS).
(cd "$root/build-asan" && ctest --output-on-failure --timeout 1200 -j"$(nproc)")
# 30 s per target: the clang build (about 2.5-4 minutes on 2 cores) and five runs (2.5 minutes).
"$root/scripts/fuzz.sh" 30 "$root/build-fuzz"
