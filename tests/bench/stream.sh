#!/usr/bin/env bash
# Status-stream benchmark: the share of a realistic inbox mix (tests/bench/stream_bench.rb
# lists it: posts in six servers' shapes, polls, quotes, likes, reactions, boosts, undos,
# deletes, edits, profile updates, follows) that scotty forwards to Ruby, for this tree
# and for the commit before the status-stream work (BEFORE, built in a temporary
# worktree), both in one run, per activity kind.
# Usage: tests/bench/stream.sh [ACTIVITIES] [CONCURRENCY]
# BEFORE=<commit> (default: the parent of the first status-stream commit); BEFORE=none skips it.
# SCOTTY_CMAKE_ARGS are passed to both configure steps (tests/bench/bench_lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
source "$here/tests/bench/bench_lib.sh"
trap bench_build_cleanup EXIT
bench_build_tree "$here" "$build"
bench_build_before_bin=""
before="${BEFORE:-$(git -C "$here" log --format=%H --reverse --grep='^ingress: activities Mastodon ignores' | head -1)^}"
[ "$before" = "none" ] || bench_build_before "$here" "$before" stream
bench_with_pg "$build/worker/scotty" "$here/tests/bench/stream_bench.rb" "$build/worker/scotty" "$bench_build_before_bin" "${1:-1000}" "${2:-8}"
