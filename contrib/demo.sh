#!/usr/bin/env bash
# The README's first command: installs what is missing, builds scotty, starts a private
# Redis, enqueues a burst of jobs with Ruby's Sidekiq client (as Mastodon would), lets
# scotty process them, and prints what happened. Leaves nothing running.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/contrib/install-deps.sh"
build="$here/build-release"
echo "== building scotty (release)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target scotty >/dev/null
exec ruby "$here/contrib/demo.rb" "$build/worker/scotty"
