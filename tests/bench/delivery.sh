#!/usr/bin/env bash
# Delivery benchmark: signed ActivityPub deliveries per second from one scotty process
# (release build) to loopback inboxes that verify every signature, next to this
# machine's RSA-2048 signing ceiling (`openssl speed -multi 2 rsa2048`) measured in the
# same run. The working tree ("after") runs alternately with an earlier commit
# ("before", built in a git worktree under /tmp); then inboxes that answer after
# 200 ms with 5% of the hosts dead, next to Ruby Sidekiq's bound at -c 25; then 1,000
# deliveries to a dead inbox queued ahead of 1,000 to a healthy one. See
# delivery_bench.rb for what each part prints.
# Usage: tests/bench/delivery.sh [DELIVERIES] [ROUNDS]
#   DELIVERY_BEFORE=<commit> (default c76b886, the tree before the delivery speed work;
#   "" skips it), BENCH_CONCURRENCY (throughput -c, 10), BENCH_LAT_C ("250 350 1000"),
#   BENCH_LAT_N (15000), BENCH_PERF=<file> (perf record of the first "after" run),
#   BENCH_PARTS (default "throughput latency dead"), BENCH_SCOTTY_<VAR>=v (VAR=v for scotty),
#   BENCH_ARGS (more scotty arguments, for both binaries).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
before="${DELIVERY_BEFORE-c76b886}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j 2 --target scotty >/dev/null
before_bin=""
if [ -n "$before" ]; then
    rev=$(git -C "$here" rev-parse --short "$before^{commit}")
    tree="/tmp/scotty-delivery-before-$rev"
    [ -d "$tree" ] || git -C "$here" worktree add --detach "$tree" "$rev" >/dev/null 2>&1
    cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$tree/build" -j 2 --target scotty >/dev/null
    before_bin="$tree/build/worker/scotty"
    echo "before: $rev ($tree), after: the working tree ($build)"
fi
source "$here/tests/storage/pg_harness.sh"
trap pg_stop EXIT
pg_start
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
ruby "$here/tests/bench/delivery_bench.rb" "$build/worker/scotty" "$before_bin" "${1:-10000}" "${2:-3}"
