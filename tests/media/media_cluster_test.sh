#!/usr/bin/env bash
# media_cluster_test.sh CASE -- --media-cluster-slots across three processes
# sharing one Redis (run under tests/lib/run_with_redis.sh: REDIS_SOCKET).
# Each process is media_cluster_tool: threads running real scotty-media
# children through attach_cluster_run, logging "want/start/done <task> <time>".
#   limit  3 processes x 3 threads, 4 tasks each, 2 cluster slots: children
#          whose [start, done] overlap are never more than 2, all tasks end.
#   crash  1 slot, lease 3 s: A holds it and is killed with SIGKILL; B and C,
#          queued in that order, both run afterwards, B first; nothing stays
#          in Redis.
set -uo pipefail

tool=${CLUSTER_TOOL:?set CLUSTER_TOOL}
scotty=${SCOTTY_BIN:?set SCOTTY_BIN to scotty-media}
sock=${REDIS_SOCKET:?run under run_with_redis.sh}
case_name=${1:?usage: media_cluster_test.sh CASE}
work=$(mktemp -d "${TMPDIR:-/tmp}/scotty-cluster-XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$work" || exit 1

fail() { echo "FAIL media_cluster_$case_name: $*"; for f in "$work"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -5 "$f"; }; done; exit 1; }
pass() { echo "PASS media_cluster_$case_name: $*"; exit 0; }
rc() { redis-cli -s "$sock" "$@"; }
# A video transcode: long enough that children would overlap without the limit.
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=320x240:r=25:d=4 -c:v libvpx-vp9 -deadline realtime in.webm ||
    fail "cannot make the input"
# start NAME ARGS...: one tool process in the background, its output in NAME.log.
start() {
    local name=$1; shift
    "$tool" --socket "$sock" --exe "$scotty" --in in.webm --out-dir "o-$name" "$@" > "$name.log" 2> "$name.err" &
    pids+=($!)
    eval "pid_$name=$!"
}
# wait_for FILE PATTERN [SECONDS]: polls until a line of FILE matches.
wait_for() {
    for _ in $(seq $((${3:-300} * 10))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# max_overlap FILES...: most [start, done] intervals open at one time.
max_overlap() {
    cat "$@" | awk '$1 == "start" { print $3, 1 } $1 == "done" || $1 == "fail" { print $3, -1 }' | sort -n -k1,1 -k2,2n |
        awk '{ n += $2; if (n > max) max = n } END { print max + 0 }'
}

case "$case_name" in
limit)
    for p in a b c; do start "$p" --slots 2 --local-slots 3 --lease 5 --tasks 4; done
    for p in a b c; do
        wait_for "$p.log" '^stats ' 600 || fail "$p did not finish its tasks"
    done
    for p in a b c; do
        [ "$(grep -c '^done ' "$p.log")" = 4 ] || fail "$p finished $(grep -c '^done ' "$p.log") of 4 tasks: $(cat "$p.err")"
    done
    started=$(cat a.log b.log c.log | grep -c '^start ')
    [ "$started" = 12 ] || fail "only $started of 12 children reported progress"
    most=$(max_overlap a.log b.log c.log)
    [ "$most" -le 2 ] || fail "$most children ran at once with 2 cluster slots"
    [ "$most" -ge 2 ] || fail "never 2 children at once: the slots were not used (most $most)"
    [ "$(rc zcard scotty:media:cluster:holders)" = 0 ] || fail "leases left in Redis"
    pass "12 transcodes from 3 processes x 3 threads, at most $most at once with 2 slots; $(tail -1 c.log)"
    ;;
crash)
    # A's task must outlast the start of B and C on a loaded machine: it is killed,
    # never finished, so a long input costs nothing (the tool takes the last --in).
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=320x240:r=25:d=120 -c:v libvpx-vp9 -deadline realtime \
        -cpu-used 8 long.webm || fail "cannot make the long input"
    start a --slots 1 --lease 3 --tasks 1 --in long.webm
    wait_for a.log '^start ' || fail "A never started its child"
    start b --slots 1 --lease 3 --tasks 1
    wait_for b.log '^want ' || fail "B did not ask"
    for _ in $(seq 300); do [ "$(rc zcard scotty:media:cluster:queue)" = 1 ] && break; sleep 0.1; done
    [ "$(rc zcard scotty:media:cluster:queue)" = 1 ] || fail "B is not queued in Redis"
    start c --slots 1 --lease 3 --tasks 1
    for _ in $(seq 300); do [ "$(rc zcard scotty:media:cluster:queue)" = 2 ] && break; sleep 0.1; done
    [ "$(rc zcard scotty:media:cluster:queue)" = 2 ] || fail "C is not queued behind B"
    grep -q '^start ' b.log c.log && fail "B or C ran while A held the only slot"
    kill -9 "$pid_a"
    wait_for b.log '^done ' 300 || fail "B is stuck after A was killed: $(cat b.err)"
    wait_for c.log '^done ' 300 || fail "C is stuck after A was killed: $(cat c.err)"
    bstart=$(awk '$1 == "start" { print $3 }' b.log); cstart=$(awk '$1 == "start" { print $3 }' c.log)
    bdone=$(awk '$1 == "done" { print $3 }' b.log)
    awk -v b="$bstart" -v c="$cstart" 'BEGIN { exit !(b < c) }' || fail "C ($cstart) ran before B ($bstart)"
    awk -v d="$bdone" -v c="$cstart" 'BEGIN { exit !(d <= c) }' || fail "C started before B was done with the one slot"
    wait_for c.log '^stats ' 60 || fail "C did not end"
    [ "$(rc zcard scotty:media:cluster:holders)" = 0 ] && [ "$(rc zcard scotty:media:cluster:queue)" = 0 ] ||
        fail "Redis keeps $(rc zcard scotty:media:cluster:holders) leases, $(rc zcard scotty:media:cluster:queue) waiters"
    grep -q '"in_use":0,"waiting":0' c.log || fail "stats after the run: $(tail -1 c.log)"
    pass "A killed while holding: its slot came back after the 3 s lease, B then C in queue order; $(tail -1 c.log)"
    ;;
*)
    fail "unknown case"
    ;;
esac
