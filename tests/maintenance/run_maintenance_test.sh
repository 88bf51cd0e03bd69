#!/bin/bash
# run_maintenance_test.sh -- runs one Ruby maintenance test file with
# tests/lib/run_with_pg.sh (a private PostgreSQL with Mastodon's schema). Object
# storage is whatever the environment says: run it under tests/storage/run_s3_test.sh
# for S3, else a private PAPERCLIP_ROOT_PATH is made here.
# Usage: run_maintenance_test.sh <test.rb>   (SCOTTY_BIN, MAINT_STORE_BIN name the binaries)
set -u
here=$(cd "$(dirname "$0")" && pwd)
fs_root=""
cleanup() {
    [ -n "$fs_root" ] && rm -rf "$fs_root"
}
trap cleanup EXIT
if [ "${S3_ENABLED:-}" != true ]; then
    fs_root=$(mktemp -d /tmp/scotty-maint-fs.XXXXXX)
    export S3_ENABLED=false PAPERCLIP_ROOT_PATH="$fs_root"
fi
"$here/../lib/run_with_pg.sh" "$1"
