#!/usr/bin/env bash
# Ingress benchmark: Create{Note} activities per second into PostgreSQL for one scotty
# process (release build), Redis and PostgreSQL on the same machine, pushed as
# ActivityPub::ProcessingWorker jobs by Ruby's Sidekiq client the way Mastodon's inbox
# does. Two runs side by side: text-only posts, and posts with one image each (downloaded
# from the loopback origin and processed in scotty-media), those ROUNDS times with the
# media fork server and as many with one exec'ed child per task, alternating. Prints the
# rates, their ratio to 3,000 jobs/s (the top of what mastodon.social reports for its
# whole fleet), the medians per image mode with CPU per image (scotty and its children)
# next to one bare exec of scotty-media, and the fork-server / exec ratio.
# The text posts run ROUNDS times; with SCOTTY_BEFORE=<commit> that commit is built
# (Release, in a git worktree under /tmp) and its rounds alternate with this build's,
# and the medians are compared. Each text run prints the statements per post that
# PostgreSQL executed (pg_stat_statements) and the round trips per post scotty's
# connection pool made (its "PostgreSQL pool:" log line at exit; commits before it
# print "n/a"). IMAGE_POSTS=0 skips the image runs.
# Usage: [SCOTTY_BEFORE=<commit>] tests/bench/ingress.sh [TEXT_POSTS] [IMAGE_POSTS] [CONCURRENCY] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j 2 --target scotty scotty-media >/dev/null
before_bin=""
if [ -n "${SCOTTY_BEFORE:-}" ]; then
    sha=$(git -C "$here" rev-parse --verify "$SCOTTY_BEFORE^{commit}")
    tree="/tmp/scotty-before-$sha"
    [ -d "$tree" ] || git -C "$here" worktree add --detach "$tree" "$sha" >/dev/null
    cmake -S "$tree" -B "$tree/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$tree/build-release" -j 2 --target scotty scotty-media >/dev/null
    before_bin="$tree/build-release/worker/scotty"
fi
source "$here/tests/storage/pg_harness.sh"
trap pg_stop EXIT
pg_start
echo "shared_preload_libraries = 'pg_stat_statements'" >>"$PG_DIR/data/postgresql.conf"
# planning time per statement for BENCH_PG_TOP (a statement planned anew on every call shows there)
[ -z "${BENCH_PG_TOP:-}" ] || echo "pg_stat_statements.track_planning = on" >>"$PG_DIR/data/postgresql.conf"
pg_restart
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
"$PG_PSQL" -X -q -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -c "CREATE EXTENSION pg_stat_statements"
ruby "$here/tests/bench/ingress_bench.rb" "$build/worker/scotty" "${1:-20000}" "${2:-500}" "${3:-10}" "${4:-3}" $before_bin
