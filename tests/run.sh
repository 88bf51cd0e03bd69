#!/usr/bin/env bash
# The README's test command: installs what is missing, builds scotty with ASan+UBSan and
# runs every test (unit and integration) under ctest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/contrib/install-deps.sh"
build="$here/build-test"
cmake -S "$here" -B "$build" -DSCOTTY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
exec ctest --output-on-failure --timeout 600 "$@"
