# pg_harness.sh -- sourced by storage tests: a private PostgreSQL 15 in a temp dir
# on a free loopback port, run as the `postgres` user (PostgreSQL refuses root).
# Provides pg_start, pg_stop, pg_restart, pg_psql; sets DB_HOST/DB_PORT/DB_NAME/
# DB_USER for scotty. The caller must `trap pg_stop EXIT`.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_DIR=""

pg_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

pg_ctl_start() {
    pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
        -o "-p $DB_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
        start >/dev/null
}

pg_start() {
    [ -x "$PG_BIN/initdb" ] || { echo "FAIL: PostgreSQL server binaries not found (apt-get install postgresql)"; return 1; }
    PG_DIR=$(mktemp -d /tmp/scotty-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
    pg_as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
        { echo "FAIL: initdb failed:"; cat "$PG_DIR/initdb.log"; return 1; }
    for _ in 1 2 3 4 5; do
        DB_PORT=$(pg_free_port) || break
        if pg_ctl_start; then
            export DB_HOST=127.0.0.1 DB_PORT DB_NAME=scotty_test DB_USER=postgres
            unset DATABASE_URL DB_PASS
            "$PG_BIN/createdb" -h 127.0.0.1 -p "$DB_PORT" -U postgres "$DB_NAME" || return 1
            return 0
        fi
    done
    echo "FAIL: PostgreSQL did not start; its log:"
    cat "$PG_DIR/log"
    return 1
}

pg_restart() {
    pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null && pg_ctl_start
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}

pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$DB_PORT" -U postgres -d "$DB_NAME" "$@"
}

# Stops the server and keeps its data, for pg_ctl_start to bring it back.
pg_halt() {
    pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
}

# Run directly: `pg_harness.sh restart|halt|resume PG_DIR PORT` restarts, stops or
# starts again a server (used by tests that take PostgreSQL away under scotty).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    PG_DIR=$2 DB_PORT=$3
    case "${1:-}" in
    restart) pg_restart ;;
    halt) pg_halt ;;
    resume) pg_ctl_start ;;
    *) echo "usage: pg_harness.sh restart|halt|resume PG_DIR PORT" >&2; exit 2 ;;
    esac
fi
