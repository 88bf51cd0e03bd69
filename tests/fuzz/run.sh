#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (tests/fuzz as a CMake project of its own, in
# build-fuzz or $FUZZ_BUILD) and runs each for SECONDS, starting from its seeds
# (corpus/TARGET) and the inputs of the crashes found so far (regress/TARGET), which
# are all replayed first. New corpus entries and crash artifacts go into the build
# directory, never into the checked-in corpus.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]     default: every target, one after the other
#   tests/fuzz/run.sh --build                 build only
#   tests/fuzz/run.sh --no-build SECONDS [TARGET...]
#
# Prints one line per target with its exec count; exits non-zero if a target crashed,
# leaked, timed out or went over the memory limit (libFuzzer's log is then printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
targets_all=(job json ap sig cron config http media image private card acct emoji)

do_build=1
if [ "${1:-}" = "--no-build" ]; then
  do_build=0
  shift
fi
if [ $do_build = 1 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$build" -j "$(nproc)" >/dev/null
fi
[ "${1:-}" = "--build" ] && exit 0
seconds=${1:?usage: run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")

failed=0
for t in "${targets[@]}"; do
  work="$build/work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  dirs=("$work/corpus" "$here/corpus/$t")
  [ -d "$here/regress/$t" ] && dirs+=("$here/regress/$t")
  log="$work/last.log"
  # The limits of a media child (--media-memory-mb 2048) hold for every target; an
  # input that takes more than 20 s is a hang.
  if "$build/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
      -malloc_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
      -artifact_prefix="$work/artifacts/" "${dirs[@]}" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -E '^#[0-9]+.*DONE' "$log" | sed -n 's/.*cov: \([0-9]*\).*/\1/p' | tail -1)
    echo "fuzz_$t: ${execs:-?} execs in ${seconds}s, coverage ${cov:-?}"
  else
    failed=1
    echo "fuzz_$t: FAILED (log: $log, inputs: $work/artifacts/)"
    grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x' "$log" | head -40
  fi
done
exit $failed
