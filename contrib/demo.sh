#!/usr/bin/env bash
# The README's first command: installs what is missing, builds scotty, starts a private
# Redis and PostgreSQL (Mastodon's schema from `scotty db init`) and a fixture fediverse,
# enqueues an ingress burst (text posts, images, videos) with Ruby's Sidekiq client as
# Mastodon's inbox does, lets scotty ingest it with media under a CPU cap, and prints the
# statuses, media files and stats. Leaves nothing running.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/contrib/install-deps.sh"
build="$here/build-release"
echo "== building scotty (release)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target scotty scotty-media scottyctl >/dev/null
source "$here/tests/storage/pg_harness.sh"
trap pg_stop EXIT
pg_start
"$build/worker/scotty" db init >/dev/null
export PG_PSQL="$PG_BIN/psql"
ruby "$here/contrib/demo.rb" "$build/worker/scotty" "$build/worker/control/scottyctl"
