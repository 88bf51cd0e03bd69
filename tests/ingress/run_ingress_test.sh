#!/bin/bash
# run_ingress_test.sh -- runs one Ruby ingress/pull test file against a private
# PostgreSQL (tests/storage/pg_harness.sh) holding Mastodon's schema from
# `scotty db init`. Usage: run_ingress_test.sh <test.rb>
# (SCOTTY_BIN and SCOTTY_MEDIA_BIN name the binaries; PG_PSQL is exported for the test).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../storage/pg_harness.sh"
trap pg_stop EXIT
pg_start || exit 1
"$SCOTTY_BIN" db init >"$PG_DIR/init.log" 2>&1 || { echo "FAIL: scotty db init:"; cat "$PG_DIR/init.log"; exit 1; }
export PG_PSQL="$PG_BIN/psql"
ruby "$1"
