#!/bin/bash
# run_with_pg.sh -- runs one Ruby test file against a private PostgreSQL
# (tests/storage/pg_harness.sh) holding Mastodon's schema from `scotty db init`.
# Usage: run_with_pg.sh <test.rb>   (SCOTTY_BIN names the scotty binary; the test
# gets DB_*, PG_PSQL, the harness's psql, and PG_DIR for Harness::PG.server).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../storage/pg_harness.sh"
trap pg_stop EXIT
pg_start || exit 1
"$SCOTTY_BIN" db init >"$PG_DIR/init.log" 2>&1 || { echo "FAIL: scotty db init:"; cat "$PG_DIR/init.log"; exit 1; }
export PG_PSQL="$PG_BIN/psql"
export PG_DIR
ruby "$1"
