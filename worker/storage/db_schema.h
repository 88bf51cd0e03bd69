/* db_schema.h -- the one description of the Mastodon tables scotty uses
 * (db_schema_spec.c), read by `db init` (creates them) and `db check` (verifies a
 * real database against them). Private to worker/storage. */
#ifndef SCOTTY_DB_SCHEMA_H
#define SCOTTY_DB_SCHEMA_H

#include <stdbool.h>

/* Column types, spelled as PostgreSQL's format_type() prints them. */
#define DB_T_BIGINT "bigint"
#define DB_T_INT "integer"
#define DB_T_STRING "character varying"
#define DB_T_TEXT "text"
#define DB_T_BOOL "boolean"
#define DB_T_TS "timestamp without time zone"       /* Rails datetime, precision: nil */
#define DB_T_TS6 "timestamp(6) without time zone"   /* Rails 7+ datetime */
#define DB_T_JSON "json"
#define DB_T_JSONB "jsonb"
#define DB_T_FLOAT "double precision"
#define DB_T_BIGINT_ARRAY "bigint[]"
#define DB_T_STRING_ARRAY "character varying[]"

typedef struct db_column {
    const char *name;
    const char *type;        /* one of DB_T_* */
    const char *modifiers;   /* "NOT NULL DEFAULT ''" etc., or NULL */
    bool optional;           /* only in newer Mastodon: init creates it, check only notes it */
} db_column;

typedef enum {
    DB_ID_BIGSERIAL = 0,     /* id bigserial primary key */
    DB_ID_TIMESTAMP,         /* id bigint default timestamp_id('<table>'), plus <table>_id_seq */
    DB_ID_NONE               /* join table: composite primary key in `after` */
} db_id_kind;

typedef struct db_table {
    const char *name;
    db_id_kind id;
    bool optional;           /* the whole table is newer Mastodon only */
    const db_column *columns;    /* terminated by {NULL} */
    const char *const *after;    /* indexes, keys: SQL run after every table exists; NULL-terminated */
} db_table;

/* Every table, in creation order; terminated by {NULL}. */
extern const db_table db_schema_tables[];
/* Unique indexes db init creates as newer Mastodon has them, which scotty does not
 * rely on (no ON CONFLICT names them): db check only notes their absence, since
 * older Mastodon databases lack them. NULL-terminated. */
extern const char *const db_schema_optional_unique[];
/* Foreign keys, added once every table exists; NULL-terminated. */
extern const char *const db_schema_foreign_keys[];

#endif
