#!/usr/bin/env bash
# Accounts benchmark: remote accounts resolved per second by one scotty process (release
# build) with the fixture origin on loopback (actor, WebFinger, three collections, avatar
# and header per account, in the six server shapes), the median of ROUNDS runs; then the
# fixture ingress stream (posts, boosts of unknown authors, replies to them, mentions of
# unknown accounts, account Updates) through this tree's scotty and through the one
# before native accounts (commit BEFORE, built in a temporary worktree), printing the
# share of the stream each forwards to Ruby.
# Usage: tests/bench/accounts.sh [ACCOUNTS] [CONCURRENCY] [ROUNDS] [STREAM]
# SCOTTY_CMAKE_ARGS are passed to both configure steps.
# BEFORE=<commit> (default: the parent of the first native-accounts commit); BEFORE=none skips it.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release ${SCOTTY_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j 2 --target scotty scotty-media >/dev/null
before_bin=""
before="${BEFORE:-$(git -C "$here" log --format=%H --reverse --grep='^accounts: remote accounts resolved natively' | head -1)^}"
if [ "$before" != "none" ]; then
  wt=$(mktemp -d /tmp/scotty-accounts-before.XXXXXX)
  trap 'git -C "$here" worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
  git -C "$here" worktree add --detach "$wt" "$before" >/dev/null 2>&1
  cmake -S "$wt" -B "$wt/build" -DCMAKE_BUILD_TYPE=Release ${SCOTTY_CMAKE_ARGS:-} >/dev/null
  cmake --build "$wt/build" -j 2 --target scotty scotty-media >/dev/null
  before_bin="$wt/build/worker/scotty"
fi
source "$here/tests/storage/pg_harness.sh"
trap 'pg_stop; [ -n "${wt:-}" ] && git -C "$here" worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
pg_start
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
ruby "$here/tests/bench/accounts_bench.rb" "$build/worker/scotty" "$before_bin" "${1:-300}" "${2:-8}" "${3:-3}" \
  "${4:-400}"
