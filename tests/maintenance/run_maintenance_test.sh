#!/bin/bash
# run_maintenance_test.sh -- runs one Ruby maintenance test file against a private
# PostgreSQL (tests/storage/pg_harness.sh) with Mastodon's schema from `scotty db init`.
# Object storage is whatever the environment says: run it under
# tests/storage/run_s3_test.sh for S3, else a private PAPERCLIP_ROOT_PATH is made here.
# Usage: run_maintenance_test.sh <test.rb>   (SCOTTY_BIN, MAINT_STORE_BIN name the binaries)
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../storage/pg_harness.sh"
fs_root=""
cleanup() {
    pg_stop
    [ -n "$fs_root" ] && rm -rf "$fs_root"
}
trap cleanup EXIT
pg_start || exit 1
"$SCOTTY_BIN" db init >"$PG_DIR/init.log" 2>&1 || { echo "FAIL: scotty db init:"; cat "$PG_DIR/init.log"; exit 1; }
export PG_PSQL="$PG_BIN/psql"
if [ "${S3_ENABLED:-}" != true ]; then
    fs_root=$(mktemp -d /tmp/scotty-maint-fs.XXXXXX)
    export S3_ENABLED=false PAPERCLIP_ROOT_PATH="$fs_root"
fi
ruby "$1"
