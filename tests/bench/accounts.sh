#!/usr/bin/env bash
# Accounts benchmark: remote accounts resolved per second by one scotty process (release
# build) with the fixture origin on loopback (actor, WebFinger, three collections, avatar
# and header per account, in the six server shapes), the median of ROUNDS runs; then the
# fixture ingress stream (posts, boosts of unknown authors, replies to them, mentions of
# unknown accounts, account Updates) through this tree's scotty and through the one
# before native accounts (commit BEFORE, built in a temporary worktree), printing the
# share of the stream each forwards to Ruby.
# Usage: tests/bench/accounts.sh [ACCOUNTS] [CONCURRENCY] [ROUNDS] [STREAM]
# SCOTTY_CMAKE_ARGS are passed to both configure steps (tests/bench/bench_lib.sh; the
# commit before is built with warnings allowed).
# BEFORE=<commit> (default: the parent of the first native-accounts commit); BEFORE=none skips it.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
source "$here/tests/bench/bench_lib.sh"
trap bench_build_cleanup EXIT
bench_build_tree "$here" "$build"
bench_build_before_bin=""
before="${BEFORE:-$(git -C "$here" log --format=%H --reverse --grep='^accounts: remote accounts resolved natively' | head -1)^}"
[ "$before" = "none" ] || bench_build_before "$here" "$before" accounts
bench_with_pg "$build/worker/scotty" "$here/tests/bench/accounts_bench.rb" "$build/worker/scotty" "$bench_build_before_bin" "${1:-300}" "${2:-8}" "${3:-3}" "${4:-400}"
