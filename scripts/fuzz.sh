#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in their own build directory and
# runs each for a bounded time, starting from its seed corpus (new inputs go to a scratch copy, never into
# the repository). Fails when any target crashes (sanitizer report, abort, uncaught exception, timeout,
# out-of-memory); crash inputs are kept under BUILD_DIR/findings/<target>/.
#   scripts/fuzz.sh [SECONDS_PER_TARGET (60)] [BUILD_DIR (build-fuzz)] [TARGET...]
# A long run (millions of executions, several processes): see tests/fuzz/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${2:-$root/build-fuzz}
mkdir -p "$build"
build=$(cd "$build" && pwd)
shift $(($# < 2 ? $# : 2))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_gguf fuzz_trace fuzz_archive fuzz_chat_template fuzz_tokenizer)

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
# -O1 with line tables: quick to build, fast enough to fuzz, readable stacks; assert()s stay on.
cmake -S "$root" -B "$build" -G Ninja -DLAGVK_FUZZ=ON -DCMAKE_BUILD_TYPE=Fuzz \
  -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

# Every input runs under the sanitizers with a per-input time limit and a memory ceiling; leaks are
# reported too (our parsers hold no driver allocations).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
for target in "${targets[@]}"; do
  work="$build/fuzz-work/$target"
  findings="$build/findings/$target"
  rm -rf "$work"
  mkdir -p "$work" "$findings"
  cp -r "$root/tests/fuzz/corpus/$target/." "$work/"
  dict=()
  [ -f "$root/tests/fuzz/$target.dict" ] && dict=(-dict="$root/tests/fuzz/$target.dict")
  echo "== $target: ${seconds}s"
  if (cd "$build" && "$build/tests/fuzz/$target" "$work" "${dict[@]}" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$findings/" -print_final_stats=1 >"$build/$target.log" 2>&1); then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/$target.log" | tail -2 || true
    echo "PASS $target"
    passed=$((passed + 1))
  else
    tail -n 60 "$build/$target.log"
    echo "FAIL $target (inputs under $findings/, log $build/$target.log)"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
