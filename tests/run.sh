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
# A test that fails is run once more and fails the suite only if it fails again: on this
# shared 2-core VM a few real-server tests can miss a bound under load. Every failure is
# still printed. Tests run one per core at a time: most of their time is spent waiting
# for servers and processes (the package and container tests run alone, RUN_SERIAL).
exec ctest --output-on-failure --timeout 600 --repeat until-pass:2 -j "$(nproc)" "$@"
