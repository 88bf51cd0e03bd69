#!/usr/bin/env bash
# db_cli_test.sh -- `scotty db init|check` end to end against a private PostgreSQL:
# check on an empty database fails and names what is missing, init creates the
# schema, check passes (DB_* and DATABASE_URL forms), init refuses to run twice,
# a dropped column makes check fail naming it, an unreachable server is reported.
# $1: a binary whose `db` subcommand is db_main (scotty or storage_cli).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cli=$1
source "$here/pg_harness.sh"
out=$(mktemp -d /tmp/scotty-dbcli.XXXXXX)
trap 'pg_stop; rm -rf "$out"' EXIT
pg_start || exit 1

fail() { echo "FAIL: $*"; for f in "$out"/*; do echo "--- $f"; cat "$f"; done; exit 1; }

"$cli" db check >"$out/check0" 2>&1 && fail "db check passed on an empty database"
grep -q "missing table statuses" "$out/check0" || fail "db check did not name the missing statuses table"

"$cli" db init >"$out/init" 2>&1 || fail "db init failed"
"$cli" db check >"$out/check1" 2>&1 || fail "db check failed right after db init"
grep -q "has every table and column" "$out/check1" || fail "db check did not confirm success"

DATABASE_URL="postgresql://postgres@127.0.0.1:$DB_PORT/$DB_NAME" DB_PORT=1 "$cli" db check >"$out/check_url" 2>&1 ||
    fail "db check with DATABASE_URL failed"

"$cli" db init >"$out/init2" 2>&1 && fail "db init ran twice on the same database"
grep -q "already has" "$out/init2" || fail "second db init did not say why it refused"

pg_psql -c "ALTER TABLE media_attachments DROP COLUMN blurhash" || fail "psql"
"$cli" db check >"$out/check2" 2>&1 && fail "db check passed with media_attachments.blurhash dropped"
grep -q "missing column media_attachments.blurhash" "$out/check2" || fail "db check did not name the dropped column"

DB_PORT=1 "$cli" db check >"$out/check_down" 2>&1 && fail "db check passed with no server"
grep -q "cannot connect to PostgreSQL" "$out/check_down" || fail "no clear message for an unreachable server"

"$cli" db frobnicate >"$out/usage" 2>&1
[ $? -eq 2 ] || fail "an unknown db subcommand did not exit 2"

echo "PASS: db init/check ($(grep -c . "$out/check2") line(s) reported for one dropped column)"
