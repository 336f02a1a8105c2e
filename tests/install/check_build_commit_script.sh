#!/usr/bin/env bash
# ctest's Library.BuildCommitFollowsNewCommits: cmake/BuildCommit.cmake (run at every build) writes HEAD's
# commit, leaves the file untouched while HEAD stays (so nothing recompiles), rewrites it after a new
# commit (a configure-time value would go stale), and says "unknown" for a tree that is not a git checkout
# of its own. usage: check_build_commit_script.sh SOURCE_DIR
set -euo pipefail
script=$1/cmake/BuildCommit.cmake
work=$(mktemp -d "${TMPDIR:-/tmp}/lagvk-commit-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
generate() { cmake -DSOURCE_DIR="$1" -DOUTPUT="$work/commit.h" -P "$script"; }
expect() { [ "$(cat "$work/commit.h")" = "#define LAGVK_BUILD_COMMIT \"$1\"" ] || fail "commit.h holds '$(cat "$work/commit.h")', expected $1"; }

repo=$work/repo
mkdir -p "$repo/sub"
git -C "$repo" init -q
commit() { git -C "$repo" -c user.name=test -c user.email=test@localhost commit -q --allow-empty -m "$1"; }
commit first
generate "$repo"
expect "$(git -C "$repo" rev-parse --short=12 HEAD)"
touch -d '2000-01-01' "$work/commit.h"
generate "$repo"
[ "$(stat -c %Y "$work/commit.h")" = "$(date -d '2000-01-01' +%s)" ] || fail "commit.h was rewritten though HEAD did not move"
commit second
generate "$repo"
expect "$(git -C "$repo" rev-parse --short=12 HEAD)"
# A source tree inside another repository (an unpacked tarball) is not that repository's commit.
generate "$repo/sub"
expect unknown
echo "BuildCommit.cmake follows HEAD and rewrites only on change"
