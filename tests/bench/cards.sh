#!/usr/bin/env bash
# Link card benchmark: LinkCrawlWorker jobs per second for one scotty process (release
# build), Redis, PostgreSQL and the fixture web (tests/cards/card_origin.rb) on loopback.
# Two kinds side by side, alternating for ROUNDS rounds: pages without an image (fetch,
# parse, row) and pages whose og:image is a 1200x630 JPEG (plus the download and the
# scotty-media child making the preview_card style). Prints cards/s per run, the medians,
# and per card the CPU time of scotty and of its media children.
# Usage: tests/bench/cards.sh [CARDS_PER_RUN] [CONCURRENCY] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build="${SCOTTY_BUILD:-$here/build-release}"
source "$here/tests/bench/bench_lib.sh"
bench_build_tree "$here" "$build"
bench_with_pg "$build/worker/scotty" "$here/tests/bench/cards_bench.rb" "$build/worker/scotty" "${1:-300}" "${2:-8}" "${3:-3}"
