#!/bin/bash
# pg_ctl.sh -- stops or starts again the PostgreSQL that tests/lib/run_with_pg.sh
# started (tests/storage/pg_harness.sh), so the chaos test can hold it down for a
# while: `pg_ctl.sh stop PG_DIR` (fast shutdown: sessions are cut) and
# `pg_ctl.sh start PG_DIR` (same port, DB_PORT from the environment, same options).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../storage/pg_harness.sh"
PG_DIR=$2
case $1 in
    stop) pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null ;;
    start) pg_ctl_start ;;
    *) echo "usage: pg_ctl.sh stop|start PG_DIR" >&2; exit 2 ;;
esac
