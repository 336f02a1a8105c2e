#!/usr/bin/env bash
# Fails when any C++ source is not formatted with the project's .clang-format.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find engine logstore tools tests bench -name '*.[ch]pp')
[ -n "$files" ] || exit 0
if ! clang-format --dry-run --Werror $files; then
  echo "check_format: run 'clang-format -i' on the files above" >&2
  exit 1
fi
