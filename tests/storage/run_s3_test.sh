#!/usr/bin/env bash
# run_s3_test.sh -- starts the test S3 server (@20minutes/s3rver, verifies SigV4)
# and its fault proxy on loopback in a temp dir, runs the C test binary $1 with
# Mastodon's S3_* env pointing at it, and stops the server afterwards.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@20minutes/s3rver" ]; then
    echo "FAIL: the test S3 server is not installed (run contrib/install-deps.sh, which runs npm install in tests/storage)"
    exit 1
fi
dir=$(mktemp -d /tmp/scotty-s3.XXXXXX)
node_pid=""
cleanup() {
    if [ -n "$node_pid" ]; then
        kill "$node_pid" 2>/dev/null
        wait "$node_pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=scotty-test-key AWS_SECRET_ACCESS_KEY=scotty-test-secret
node "$here/s3_server.js" "$dir/data" scotty-media "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" \
    "$dir/ports" >"$dir/log" 2>&1 &
node_pid=$!
for _ in $(seq 100); do
    [ -s "$dir/ports" ] && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$dir/ports" ]; then
    echo "FAIL: the test S3 server did not start; its log:"
    cat "$dir/log"
    exit 1
fi
read -r s3_port proxy_port <"$dir/ports"

export S3_ENABLED=true S3_BUCKET=scotty-media S3_REGION=us-east-1 S3_PROTOCOL=http
# Every request goes through the fault proxy (it forwards unchanged unless told).
export S3_ENDPOINT="http://127.0.0.1:$proxy_port" S3_HOSTNAME="127.0.0.1:$s3_port"
export STORAGE_S3_PROXY_PORT=$proxy_port SCOTTY_S3_RETRY_BACKOFF_MS=10
unset S3_KEY_PREFIX S3_ALIAS_HOST S3_OVERRIDE_PATH_STYLE S3_PERMISSION S3_STORAGE_CLASS
"$@"
rc=$?
[ $rc -eq 0 ] && echo "PASS: $(basename "$1") against S3" || { echo "FAIL: $(basename "$1") exited $rc; server log:"; tail -20 "$dir/log"; }
exit $rc
