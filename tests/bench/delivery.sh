#!/usr/bin/env bash
# Delivery benchmark: signed ActivityPub deliveries per second from one scotty
# process (release build) to a loopback inbox that verifies every signature, side by
# side with this machine's RSA-2048 signing ceiling (`openssl speed -multi 2 rsa2048`)
# measured in the same run; then 1,000 deliveries to an inbox that never answers
# pushed ahead of 1,000 to a healthy one, to show the healthy ones are not held up.
# Usage: tests/bench/delivery.sh [DELIVERIES]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j 2 --target scotty >/dev/null
source "$here/tests/storage/pg_harness.sh"
trap pg_stop EXIT
pg_start
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
ruby "$here/tests/bench/delivery_bench.rb" "$build/worker/scotty" "${1:-20000}"
