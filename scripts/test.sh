#!/usr/bin/env bash
# Installs everything (the training tools' packages too), builds lagvk and runs the whole test suite:
# the release build, then the sanitizer (ASan + UBSan) build, both under the Khronos validation layer
# (any message fails a test; the sanitizer build's tests add its synchronization validation), then a
# bounded libFuzzer run of every fuzz target (clang, ASan + UBSan; tests/fuzz/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Every outside reference (llama.cpp peer, reference tokenizers) is installed below: a test that finds
# one missing fails instead of skipping (tests/support/references.hpp).
export LAGVK_REQUIRE_REFERENCES=1
"$root/scripts/setup.sh"
"$root/tools/train/setup.sh"  # PyTorch: the training model's test
"$root/scripts/check_format.sh"
# The release build also makes liblagvk.a, so the install test builds the C example against it too.
"$root/scripts/build.sh" "$root/build" -DLAGVK_STATIC_LIBRARY=ON
(cd "$root/build" && ctest --output-on-failure --timeout 1200 -j"$(nproc)")
# LAGVK_VALIDATION=sync for this pass (tests/CMakeLists.txt): hazards between commands that no barrier
# orders. It sees the transfers (copies, fills) CommandStream records, not the kernels' accesses through
# buffer addresses. Measured in the release build on 2 busy cores, CPU time with sync (with
# LAGVK_VALIDATION=1): test_kernels 26.7 s (26.6), test_forward 9.8 s (9.0), test_lag_store 37.1 s (39.3),
# `lagvk eval` of the multihop model (--limit 4 --store-limit 8, kv-last) 39.8 s (35.3): up to 13% more
# CPU on the layer's side, where ASan adds nothing, so a few minutes on this pass at most.
"$root/scripts/build.sh" "$root/build-asan" -DLAGVK_SANITIZE=ON -DLAGVK_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLAGVK_TEST_VALIDATION=sync
# The per-format suites (kernel table, forward pass, llama.cpp model agreement) run one weight format of
# each family here (tests/support/sanitizer.hpp): their host code is the same for every format, and each
# kernel variant costs seconds of Mesa's JIT through ASan's allocator; the release pass above runs them all.
# Leaks are checked in every test but those that load a Vulkan driver (Mesa's JIT and loader keep
# allocations alive until exit): tests/CMakeLists.txt sets ASAN_OPTIONS per test (LAGVK_DRIVER_TESTS).
(cd "$root/build-asan" && ctest --output-on-failure --timeout 1200 -j"$(nproc)")
# 30 s per target: the clang build (about 2.5-4 minutes on 2 cores) and five runs (2.5 minutes).
"$root/scripts/fuzz.sh" 30 "$root/build-fuzz"
