#!/usr/bin/env bash
# run_db_test.sh -- starts a private PostgreSQL, runs the C test binary given as $1
# against it (with a command to restart the server), and stops it afterwards.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/pg_harness.sh"
trap pg_stop EXIT
pg_start || exit 1
export STORAGE_PG_RESTART_CMD="bash $here/pg_harness.sh restart $PG_DIR $DB_PORT"
"$@"
rc=$?
[ $rc -eq 0 ] && echo "PASS: $(basename "$1")" || echo "FAIL: $(basename "$1") exited $rc"
exit $rc
