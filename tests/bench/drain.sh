#!/usr/bin/env bash
# Drain benchmark: the same 200,000 no-op jobs, pushed with Ruby's push_bulk, drained
# once by Ruby Sidekiq 6.4 and by scotty (reliable fetch, -c 10 and -c 25) against one
# private Redis, side by side in one run. Prints jobs/s, peak RSS and the ratios.
# Usage: tests/bench/drain.sh [JOBS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
"$here/contrib/install-deps.sh"
build="$here/build-release"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target scotty >/dev/null
exec ruby "$here/tests/bench/drain.rb" "$build/worker/scotty" "${1:-200000}"
