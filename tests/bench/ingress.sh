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
# Usage: tests/bench/ingress.sh [TEXT_POSTS] [IMAGE_POSTS] [CONCURRENCY] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j 2 --target scotty scotty-media >/dev/null
source "$here/tests/storage/pg_harness.sh"
trap pg_stop EXIT
pg_start
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
ruby "$here/tests/bench/ingress_bench.rb" "$build/worker/scotty" "${1:-20000}" "${2:-500}" "${3:-10}" "${4:-3}"
