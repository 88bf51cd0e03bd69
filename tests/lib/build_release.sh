#!/usr/bin/env bash
# build_release.sh -- builds scotty as the demo and the benchmarks do (Release, -Werror),
# so a warning only the optimiser sees fails the suite instead of the README's first
# command. Usage: build_release.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$2" -j "$(nproc)" --target scotty scotty-media scottyctl
