#!/usr/bin/env bash
# Status-stream benchmark: the share of a realistic inbox mix (tests/bench/stream_bench.rb
# lists it: posts in six servers' shapes, polls, quotes, likes, reactions, boosts, undos,
# deletes, edits, profile updates, follows) that scotty forwards to Ruby, for this tree
# and for the commit before the status-stream work (BEFORE, built in a temporary
# worktree), both in one run, per activity kind.
# Usage: tests/bench/stream.sh [ACTIVITIES] [CONCURRENCY]
# BEFORE=<commit> (default: the parent of the first status-stream commit); BEFORE=none skips it.
# SCOTTY_CMAKE_ARGS are passed to this tree's configure step; the older tree is built
# with -DSCOTTY_WERROR=OFF as well, since newer compilers warn about code it had.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release ${SCOTTY_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j 2 --target scotty scotty-media >/dev/null
before_bin=""
before="${BEFORE:-$(git -C "$here" log --format=%H --reverse --grep='^ingress: activities Mastodon ignores' | head -1)^}"
wt=""
source "$here/tests/storage/pg_harness.sh"
trap 'pg_stop; [ -n "$wt" ] && git -C "$here" worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
if [ "$before" != "none" ]; then
  wt=$(mktemp -d /tmp/scotty-stream-before.XXXXXX)
  git -C "$here" worktree add --detach "$wt" "$before" >/dev/null 2>&1
  cmake -S "$wt" -B "$wt/build" -DCMAKE_BUILD_TYPE=Release -DSCOTTY_WERROR=OFF ${SCOTTY_CMAKE_ARGS:-} >/dev/null
  cmake --build "$wt/build" -j 2 --target scotty scotty-media >/dev/null
  before_bin="$wt/build/worker/scotty"
fi
pg_start
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
ruby "$here/tests/bench/stream_bench.rb" "$build/worker/scotty" "$before_bin" "${1:-1000}" "${2:-8}"
