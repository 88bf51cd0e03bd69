#!/bin/bash
# run_with_redis.sh -- runs a command against a private redis-server listening only on
# a Unix socket in a temp dir (REDIS_SOCKET names it), stopped afterwards.
# Usage: run_with_redis.sh <command> [args...]
set -u
dir=$(mktemp -d /tmp/scotty-redis.XXXXXX)
redis-server --port 0 --unixsocket "$dir/redis.sock" --dir "$dir" --save '' \
  --logfile "$dir/redis.log" --daemonize no &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  [ -S "$dir/redis.sock" ] && redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && break
  sleep 0.1
done
[ -S "$dir/redis.sock" ] || { echo "redis-server did not start:"; cat "$dir/redis.log"; exit 1; }
export REDIS_SOCKET="$dir/redis.sock"
"$@"
