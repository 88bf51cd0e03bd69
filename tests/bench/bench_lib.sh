# bench_lib.sh -- sourced by the benchmark scripts that compare this tree with an earlier
# commit: release builds of scotty and scotty-media for both, the earlier one in a
# temporary git worktree that bench_build_cleanup removes, and the Ruby half run against
# a private PostgreSQL with Mastodon's schema. SCOTTY_CMAKE_ARGS go to both configure
# steps; the earlier tree also gets -DSCOTTY_WERROR=OFF, since newer compilers warn
# about code it had.
source "$(dirname "${BASH_SOURCE[0]}")/../storage/pg_harness.sh"
bench_build_wt=""

# bench_build_tree SOURCE BUILD [CMAKE_ARGS...]
bench_build_tree() {
  local src=$1 dir=$2
  shift 2
  cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" ${SCOTTY_CMAKE_ARGS:-} >/dev/null
  cmake --build "$dir" -j 2 --target scotty scotty-media >/dev/null
}

# bench_build_before HERE COMMIT NAME: builds COMMIT; its scotty's path is in
# bench_build_before_bin.
bench_build_before() {
  bench_build_wt=$(mktemp -d "/tmp/scotty-$3-before.XXXXXX")
  git -C "$1" worktree add --detach "$bench_build_wt" "$2" >/dev/null 2>&1
  bench_build_tree "$bench_build_wt" "$bench_build_wt/build" -DSCOTTY_WERROR=OFF
  bench_build_before_bin="$bench_build_wt/build/worker/scotty"
}

bench_build_cleanup() {
  [ -n "$bench_build_wt" ] && git -C "$here" worktree remove --force "$bench_build_wt" >/dev/null 2>&1
  return 0
}

# bench_with_pg SCOTTY SCRIPT ARGS...: a private PostgreSQL, `scotty db init`, then the
# Ruby half (DB_* and PG_PSQL in its environment); both stopped at exit.
bench_with_pg() {
  local scotty=$1
  shift
  trap 'pg_stop; bench_build_cleanup' EXIT
  pg_start
  "$scotty" db init >/dev/null
  PG_PSQL="$PG_BIN/psql" ruby "$@"
}
