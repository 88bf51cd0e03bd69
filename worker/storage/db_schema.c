/* db_schema.c -- `db init` and `db check` over the one schema description in
 * db_schema_spec.c: init creates the tables, timestamp_id() and its sequences in
 * an empty database; check compares a live database with the description. */
#include "storage.h"
#include "db_schema.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- init ---- */

/* Mastodon's id scheme (mastodon.md §5.2): epoch milliseconds in the high 48
 * bits; the low 16 bits are the first 2 bytes of md5(table || salt || time part)
 * plus nextval('<table>_id_seq'), masked to 16 bits. The salt is random per
 * install, as Mastodon's is. */
static void db_add_timestamp_id(base_buf *sql, const char *salt)
{
    base_buf_addf(sql,
               "CREATE OR REPLACE FUNCTION timestamp_id(table_name text) RETURNS bigint\n"
               "LANGUAGE plpgsql AS $fn$\n"
               "DECLARE\n"
               "  time_part bigint;\n"
               "  sequence_base bigint;\n"
               "  tail bigint;\n"
               "BEGIN\n"
               "  time_part := ((date_part('epoch', now()) * 1000))::bigint << 16;\n"
               "  sequence_base := ('x' || substr(md5(table_name || '%s' || time_part::text),"
               " 1, 4))::bit(16)::bigint;\n"
               "  tail := (sequence_base + nextval(table_name || '_id_seq')) & 65535;\n"
               "  RETURN time_part | tail;\n"
               "END\n"
               "$fn$;\n",
               salt);
}

static void db_add_create_table(base_buf *sql, const db_table *t)
{
    if (t->id == DB_ID_TIMESTAMP)
        base_buf_addf(sql, "CREATE SEQUENCE %s_id_seq;\n", t->name);
    base_buf_addf(sql, "CREATE TABLE %s (\n", t->name);
    const char *sep = "";
    if (t->id == DB_ID_BIGSERIAL) {
        base_buf_adds(sql, "  id bigserial PRIMARY KEY");
        sep = ",\n";
    } else if (t->id == DB_ID_TIMESTAMP) {
        base_buf_addf(sql, "  id bigint DEFAULT timestamp_id('%s'::text) NOT NULL PRIMARY KEY",
                   t->name);
        sep = ",\n";
    }
    for (const db_column *c = t->columns; c->name; c++) {
        base_buf_addf(sql, "%s  \"%s\" %s%s%s", sep, c->name, c->type, c->modifiers ? " " : "",
                   c->modifiers ? c->modifiers : "");
        sep = ",\n";
    }
    base_buf_adds(sql, "\n);\n");
}

/* Names of our tables that already exist, comma-separated in `found`. */
static int db_existing_tables(db_conn *c, base_buf *found, char *err, size_t errlen)
{
    base_buf names;
    base_buf_init(&names);
    base_buf_adds(&names, "{");
    for (const db_table *t = db_schema_tables; t->name; t++)
        base_buf_addf(&names, "%s%s", t == db_schema_tables ? "" : ",", t->name);
    base_buf_adds(&names, "}");
    const char *params[1] = {names.data};
    PGresult *r = db_exec(c, NULL,
                          "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                          "c.relnamespace WHERE n.nspname = current_schema() AND c.relname = "
                          "ANY($1::text[]) ORDER BY 1",
                          1, params, err, errlen);
    base_buf_free(&names);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        base_buf_addf(found, "%s%s", i ? ", " : "", PQgetvalue(r, i, 0));
    int n = PQntuples(r);
    PQclear(r);
    return n;
}

typedef struct db_init_ctx {
    const char *sql;
} db_init_ctx;

static int db_init_body(db_conn *c, void *user, char *err, size_t errlen)
{
    const db_init_ctx *ctx = user;
    return db_run(c, ctx->sql, err, errlen);
}

int db_schema_init(db_conn *c, char *err, size_t errlen)
{
    base_buf found;
    base_buf_init(&found);
    int n = db_existing_tables(c, &found, err, errlen);
    if (n != 0) {
        if (n > 0)
            snprintf(err, errlen,
                     "refusing to initialise: the database already has %d of scotty's tables "
                     "(%s); `db init` only fills an empty database, use `db check` on a "
                     "Mastodon database", n, found.data);
        base_buf_free(&found);
        return -1;
    }
    base_buf_free(&found);

    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        snprintf(err, errlen, "cannot draw random bytes for the timestamp_id salt (OpenSSL RAND_bytes)");
        return -1;
    }
    char salt[33];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(salt + 2 * i, 3, "%02x", raw[i]);

    base_buf sql;
    base_buf_init(&sql);
    db_add_timestamp_id(&sql, salt);
    for (const db_table *t = db_schema_tables; t->name; t++)
        db_add_create_table(&sql, t);
    for (const db_table *t = db_schema_tables; t->name; t++)
        for (const char *const *a = t->after; a && *a; a++)
            base_buf_addf(&sql, "%s;\n", *a);
    for (const char *const *fk = db_schema_foreign_keys; *fk; fk++)
        base_buf_addf(&sql, "%s;\n", *fk);

    db_init_ctx ctx = {sql.data};
    int rc = db_tx(c, db_init_body, &ctx, err, errlen);
    base_buf_free(&sql);
    return rc;
}

/* ---- check ---- */

/* format_type() output without a length or precision: "character varying(255)" →
 * "character varying", "timestamp(6) without time zone" → "timestamp without time zone". */
static void db_base_type(const char *in, char *out, size_t len)
{
    size_t o = 0;
    bool skipping = false;
    for (const char *p = in; *p && o + 1 < len; p++) {
        if (*p == '(' ) {
            skipping = true;
            continue;
        }
        if (skipping) {
            if (*p == ')')
                skipping = false;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

/* Can scotty read and write `expected` values through a column of type `actual`? */
static bool db_type_compatible(const char *expected, const char *actual)
{
    char e[64], a[64];
    db_base_type(expected, e, sizeof e);
    db_base_type(actual, a, sizeof a);
    if (strcmp(e, a) == 0)
        return true;
    static const char *const same[][2] = {
        {DB_T_STRING, DB_T_TEXT},
        {DB_T_TEXT, DB_T_STRING},
        {DB_T_INT, DB_T_BIGINT},          /* a wider integer holds every value */
        {DB_T_JSON, DB_T_JSONB},
        {DB_T_JSONB, DB_T_JSON},
        {DB_T_STRING_ARRAY, "text[]"},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (strcmp(e, same[i][0]) == 0 && strcmp(a, same[i][1]) == 0)
            return true;
    return false;
}

/* Row index of table.column in the catalogue result, or -1. */
static int db_find_column(PGresult *cols, const char *table, const char *column)
{
    for (int i = 0; i < PQntuples(cols); i++)
        if (strcmp(PQgetvalue(cols, i, 0), table) == 0 &&
            (!column || strcmp(PQgetvalue(cols, i, 1), column) == 0))
            return i;
    return -1;
}

static int db_check_column(PGresult *cols, const db_table *t, const char *name, const char *type,
                           bool optional, base_buf *report)
{
    int row = db_find_column(cols, t->name, name);
    if (row < 0) {
        if (optional) {
            base_buf_addf(report, "note: optional column %s.%s (%s, newer Mastodon) is absent; "
                               "scotty works without it\n", t->name, name, type);
            return 0;
        }
        base_buf_addf(report, "missing column %s.%s (expected %s)\n", t->name, name, type);
        return 1;
    }
    const char *actual = PQgetvalue(cols, row, 2);
    if (!db_type_compatible(type, actual)) {
        base_buf_addf(report, "column %s.%s has type %s, expected %s\n", t->name, name, actual, type);
        return 1;
    }
    return 0;
}

static int db_check_object(db_conn *c, const char *sql, const char *arg, bool *exists,
                           char *err, size_t errlen)
{
    const char *params[1] = {arg};
    PGresult *r = db_exec(c, NULL, sql, 1, params, err, errlen);
    if (!r)
        return -1;
    *exists = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

static bool db_unique_optional(const char *name)
{
    for (const char *const *o = db_schema_optional_unique; *o; o++)
        if (strcmp(*o, name) == 0)
            return true;
    return false;
}

/* Unique indexes and primary keys keep scotty's inserts from duplicating rows
 * (ON CONFLICT needs them): every "CREATE UNIQUE INDEX <name>" and "ADD PRIMARY
 * KEY" in the description must exist, but the optional ones (noted only).
 * Returns problems found, or -1 with err. */
static int db_check_unique(db_conn *c, const db_table *t, base_buf *report, char *err, size_t errlen)
{
    static const char unique_prefix[] = "CREATE UNIQUE INDEX ";
    int problems = 0;
    for (const char *const *a = t->after; a && *a; a++) {
        char name[128] = "", on[128] = "";
        bool pk = strstr(*a, "ADD PRIMARY KEY") != NULL;
        /* "CREATE UNIQUE INDEX <name> ON <relation> ...": a table's, or a view's made
         * after it */
        if (strncmp(*a, unique_prefix, sizeof unique_prefix - 1) == 0)
            sscanf(*a + sizeof unique_prefix - 1, "%127s ON %127s", name, on);
        else if (!pk)
            continue;
        const char *relation = on[0] ? on : t->name;
        const char *sql =
            pk ? "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                 "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() "
                 "AND t.relname = $1 AND i.indisprimary)"
               : "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
                 "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = "
                 "x.relnamespace WHERE n.nspname = current_schema() AND t.relname = $1 AND "
                 "x.relname = $2 AND i.indisunique)";
        const char *params[2] = {relation, name};
        PGresult *r = db_exec(c, NULL, sql, pk ? 1 : 2, params, err, errlen);
        if (!r)
            return -1;
        bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (exists)
            continue;
        if (!pk && db_unique_optional(name)) {
            base_buf_addf(report, "note: unique index %s on %s (newer Mastodon) is absent; scotty works "
                               "without it\n", name, relation);
            continue;
        }
        problems++;
        if (pk)
            base_buf_addf(report, "missing primary key on %s (%s)\n", t->name, *a);
        else
            base_buf_addf(report, "missing unique index %s on %s (scotty relies on it to avoid "
                               "duplicate rows)\n", name, relation);
    }
    return problems;
}

int db_schema_check(db_conn *c, base_buf *report, char *err, size_t errlen)
{
    PGresult *cols = db_exec(c, NULL,
                             "SELECT cl.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
                             "FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid "
                             "JOIN pg_namespace n ON n.oid = cl.relnamespace "
                             "WHERE n.nspname = current_schema() AND cl.relkind IN ('r', 'p') "
                             "AND a.attnum > 0 AND NOT a.attisdropped",
                             0, NULL, err, errlen);
    if (!cols)
        return -1;
    int problems = 0;
    bool need_timestamp_id = false;
    for (const db_table *t = db_schema_tables; t->name; t++) {
        if (db_find_column(cols, t->name, NULL) < 0) {
            if (t->optional) {
                base_buf_addf(report, "note: optional table %s (newer Mastodon) is absent; scotty "
                                   "works without it\n", t->name);
            } else {
                base_buf_addf(report, "missing table %s\n", t->name);
                problems++;
            }
            continue;
        }
        if (t->id != DB_ID_NONE)
            problems += db_check_column(cols, t, "id", DB_T_BIGINT, false, report);
        for (const db_column *col = t->columns; col->name; col++)
            problems += db_check_column(cols, t, col->name, col->type, col->optional, report);
        int unique = db_check_unique(c, t, report, err, errlen);
        if (unique < 0) {
            PQclear(cols);
            return -1;
        }
        problems += unique;
        if (t->id != DB_ID_TIMESTAMP)
            continue;
        need_timestamp_id = true;
        char seq[128];
        snprintf(seq, sizeof seq, "%s_id_seq", t->name);
        bool exists;
        if (db_check_object(c, "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON "
                               "n.oid = c.relnamespace WHERE n.nspname = current_schema() AND "
                               "c.relname = $1 AND c.relkind = 'S')",
                            seq, &exists, err, errlen) != 0) {
            PQclear(cols);
            return -1;
        }
        if (!exists) {
            base_buf_addf(report, "missing sequence %s (timestamp_id('%s') draws from it)\n", seq,
                       t->name);
            problems++;
        }
    }
    PQclear(cols);
    if (need_timestamp_id) {
        bool exists;
        if (db_check_object(c, "SELECT to_regprocedure($1) IS NOT NULL", "timestamp_id(text)",
                            &exists, err, errlen) != 0)
            return -1;
        if (!exists) {
            base_buf_addf(report, "missing function timestamp_id(text) (Mastodon's id generator)\n");
            problems++;
        }
    }
    return problems;
}
