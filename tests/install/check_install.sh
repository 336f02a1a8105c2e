#!/usr/bin/env bash
# ctest's Install.ExamplesBuildAgainstInstalledPackage: installs the build into a temporary prefix and
# checks that an app needs nothing but that prefix:
#   - find_package(lagvk MAJOR.MINOR CONFIG) finds it, another minor version does not (ABI before 1.0);
#   - the prefix holds the public files only (headers, liblagvk, the CLI and its assets, the CMake package,
#     lagvk.pc), none naming the source or build tree;
#   - examples/ builds out of tree through find_package(lagvk 0.2 CONFIG) (CMAKE_PREFIX_PATH=prefix) and
#     through pkg-config (PKG_CONFIG_PATH=prefix/lib/pkgconfig), and statically when liblagvk.a is there;
#   - each build of examples/generate, run with LD_LIBRARY_PATH=prefix/lib alone on a small random model,
#     prints the text `lagvk run --temp 0` prints, and a missing model is exit 1 with its status;
#   - the installed CLI runs from the prefix (--help; the agent demo finds its knowledge base in
#     prefix/share/lagvk);
#   - examples/ask_with_logs (C++, lagvk/lagvk.hpp), when present, saves each answer as a log and answers
#     the same question again with that log.
# usage: check_install.sh BUILD_DIR SOURCE_DIR LIBDIR C_COMPILER CXX_COMPILER
set -euo pipefail
build=$1 src=$2 libdir=$3 cc=$4 cxx=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/lagvk-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# Nothing from the caller's environment may help the examples find lagvk.
unset LD_LIBRARY_PATH CMAKE_PREFIX_PATH PKG_CONFIG_PATH CPATH LIBRARY_PATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
unexpected=$(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | sort | grep -Ev \
  "^(include/lagvk/lagvk\.h(pp)?|$libdir/liblagvk\.(so(\.[0-9]+)*|a)|bin/lagvk|share/lagvk/.+|$libdir/cmake/lagvk/lagvk(Config|ConfigVersion|Targets|Targets-[a-z]+)\.cmake|$libdir/pkgconfig/lagvk\.pc)$" || true)
[ -z "$unexpected" ] || fail "the prefix holds files an app should not see (internal headers or libraries?):
$unexpected"
for f in include/lagvk/lagvk.h "$libdir/liblagvk.so" bin/lagvk "$libdir/cmake/lagvk/lagvkConfig.cmake" \
         "$libdir/cmake/lagvk/lagvkConfigVersion.cmake" "$libdir/pkgconfig/lagvk.pc" share/lagvk/kb/demo.json; do
  [ -e "$prefix/$f" ] || fail "the prefix lacks $f"
done
if grep -rlF -e "$src" -e "$build" "$prefix/$libdir/cmake" "$prefix/$libdir/pkgconfig" "$prefix/include"; then
  fail "the installed package names the source or build tree (above)"
fi
# The CLI finds its assets from its own place, never from the source tree it was built from.
if grep -qaF "$src/assets" "$prefix/bin/lagvk"; then fail "bin/lagvk holds the source tree's path $src/assets"; fi

# Before 1.0 a minor version breaks the ABI: the package satisfies find_package(lagvk MAJOR.MINOR) only.
major=$(sed -n 's/^#define LAGVK_VERSION_MAJOR \([0-9]*\)$/\1/p' "$prefix/include/lagvk/lagvk.h")
minor=$(sed -n 's/^#define LAGVK_VERSION_MINOR \([0-9]*\)$/\1/p' "$prefix/include/lagvk/lagvk.h")
finds() {
  mkdir -p "$work/find-$1"
  printf 'cmake_minimum_required(VERSION 3.16)\nproject(probe LANGUAGES NONE)\nfind_package(lagvk %s CONFIG REQUIRED)\n' "$1" \
    >"$work/find-$1/CMakeLists.txt"
  cmake -S "$work/find-$1" -B "$work/find-$1/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null 2>&1
}
finds "$major.$minor" || fail "find_package(lagvk $major.$minor CONFIG) did not find the installed package"
finds "$major.$((minor + 1))" && fail "find_package(lagvk $major.$((minor + 1))) accepted version $major.$minor"
if [ "$minor" -gt 0 ]; then
  finds "$major.$((minor - 1))" && fail "find_package(lagvk $major.$((minor - 1))) accepted version $major.$minor"
fi

# The examples, copied out of the source tree.
cp -r "$src/examples" "$work/examples"
step "examples through find_package(lagvk 0.2 CONFIG)"
cmake -S "$work/examples" -B "$work/ex-cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DLAGVK_EXAMPLES_WERROR=ON \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build "$work/ex-cmake"
step "examples through pkg-config"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[ "$(pkg-config --modversion lagvk)" = "$(sed -n 's/^#define LAGVK_VERSION_STRING "\(.*\)"$/\1/p' "$prefix/include/lagvk/lagvk.h")" ] ||
  fail "lagvk.pc's version is not lagvk.h's"
mkdir "$work/ex-pc"
# shellcheck disable=SC2046 # pkg-config prints several words
"$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror "$work/examples/generate.c" -o "$work/ex-pc/generate" \
  $(pkg-config --cflags --libs lagvk)
generators=("$work/ex-cmake/generate" "$work/ex-pc/generate")
if [ -f "$work/examples/ask_with_logs.cpp" ]; then
  # shellcheck disable=SC2046
  "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror "$work/examples/ask_with_logs.cpp" -o "$work/ex-pc/ask_with_logs" \
    $(pkg-config --cflags --libs lagvk)
fi
if [ -f "$prefix/$libdir/liblagvk.a" ]; then
  step "generate linked with liblagvk.a (lagvk::lagvk_static, and pkg-config --static)"
  [ -x "$work/ex-cmake/generate_static" ] || fail "lagvk::lagvk_static was not found through find_package"
  libs=$(pkg-config --static --libs lagvk)
  # shellcheck disable=SC2086 # pkg-config prints several words
  "$cc" -std=c99 "$work/examples/generate.c" -o "$work/ex-pc/generate_static" $(pkg-config --cflags lagvk) \
    ${libs/-llagvk/-l:liblagvk.a}
  for exe in "$work/ex-cmake/generate_static" "$work/ex-pc/generate_static"; do
    if objdump -p "$exe" | grep -q 'NEEDED.*liblagvk'; then fail "$exe needs liblagvk.so"; fi
  done
  generators+=("$work/ex-cmake/generate_static" "$work/ex-pc/generate_static")
fi

step "the installed CLI runs from the prefix"
lagvk=$prefix/bin/lagvk
"$lagvk" --help | grep -q "usage: lagvk" || fail "lagvk --help printed no usage"
model=$work/model.gguf
"$lagvk" make-model --layers 1 --dim 64 --heads 2 --kv-heads 1 --ff 128 --vocab 300 --seed 5 -o "$model" >/dev/null
mkdir "$work/cwd"  # run from elsewhere: relative paths must not matter
(cd "$work/cwd" && "$lagvk" ask -m "$model" -s "$work/store" --save --agent --max-steps 1 -n 4 \
  "who directed the glass harbor?" >"$work/agent.txt") || fail "the agent demo failed from the prefix"
grep -q "^answer: " "$work/agent.txt" || fail "the agent demo printed no answer: $(cat "$work/agent.txt")"

step "generate prints the text lagvk run --temp 0 prints"
prompt="Once upon a time"
n=16
"$lagvk" run -m "$model" -p "$prompt" -n $n --temp 0 >"$work/cli.txt"
[ "$(wc -c <"$work/cli.txt")" -gt 1 ] || fail "lagvk run generated no text"
for exe in "${generators[@]}"; do
  LD_LIBRARY_PATH=$prefix/$libdir "$exe" "$model" "$prompt" $n >"$work/example.txt" ||
    fail "$exe $model '$prompt' $n failed"
  cmp "$work/cli.txt" "$work/example.txt" ||
    fail "$exe printed $(od -c "$work/example.txt" | head -5), lagvk run printed $(od -c "$work/cli.txt" | head -5)"
done
status=0
LD_LIBRARY_PATH=$prefix/$libdir "$work/ex-cmake/generate" "$work/missing.gguf" "$prompt" $n 2>"$work/err.txt" || status=$?
[ $status -eq 1 ] || fail "generate with a missing model exited $status, expected 1"
grep -q "LAGVK_ERROR_FILE_NOT_FOUND" "$work/err.txt" || fail "generate's error lacks the status: $(cat "$work/err.txt")"

if [ -x "$work/ex-cmake/ask_with_logs" ]; then
  step "ask_with_logs answers with logs and saves the task"
  question="who directed the glass harbor?"
  for exe in "$work/ex-cmake/ask_with_logs" "$work/ex-pc/ask_with_logs"; do
    store=$work/store-$(basename "$(dirname "$exe")")
    # The first question finds an empty store and becomes its log 1; asked again, it is answered with log 1.
    for round in 1 2; do
      LD_LIBRARY_PATH=$prefix/$libdir "$exe" "$model" "$store" "$question" >"$work/ask-$round.txt" ||
        fail "$exe (round $round) failed: $(cat "$work/ask-$round.txt")"
      grep -q "^saved as log $round " "$work/ask-$round.txt" ||
        fail "$exe (round $round) did not save log $round: $(cat "$work/ask-$round.txt")"
    done
    grep -q '^log used: #1 ' "$work/ask-2.txt" || fail "$exe did not answer with log 1: $(cat "$work/ask-2.txt")"
  done
else
  echo "(no examples/ask_with_logs.cpp: the C++ example is not checked)"
fi
echo "the installed package builds and runs the examples with nothing but $prefix"
