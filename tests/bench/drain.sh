#!/usr/bin/env bash
# Drain benchmark: Ruby Sidekiq and scotty at -c 25 against one private Redis, side by
# side in one run, alternating rounds: a drain of no-op jobs (jobs/s, peak RSS) and a
# thread-bound queue of 20 ms jobs (Sidekiq Web's size and latency, and the jobs scotty
# holds waiting for a thread). With BASE=<git rev>, that revision's scotty runs too
# (built in a temporary worktree), for a before/after comparison.
# Usage: [BASE=rev] tests/bench/drain.sh [JOBS] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
"$here/contrib/install-deps.sh"
build="$here/build-release"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target scotty >/dev/null
bins=("scotty=$build/worker/scotty")
if [ -n "${BASE:-}" ]; then
  tree=$(mktemp -d)
  trap 'git -C "$here" worktree remove --force "$tree"' EXIT
  git -C "$here" worktree add -q --detach "$tree" "$BASE"
  cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tree/build" -j "$(nproc)" --target scotty >/dev/null
  bins=("base $(git -C "$here" rev-parse --short "$BASE")=$tree/build/worker/scotty" "${bins[@]}")
fi
ruby "$here/tests/bench/drain.rb" "${1:-100000}" "${2:-3}" "${bins[@]}"
