/* db_cli.c -- `scotty db init` and `scotty db check`: create Mastodon's subset
 * schema in an empty database, or verify that a database has everything scotty
 * reads and writes; and the same check as the worker runs it at start-up.
 * Connection settings come from Mastodon's env (db_settings.c). */
#include "storage.h"

#include <stdio.h>
#include <string.h>

static int db_usage(FILE *out)
{
    fprintf(out,
            "usage: scotty db init    create Mastodon's tables scotty uses in an empty database\n"
            "       scotty db check   verify the database has every table and column scotty uses\n"
            "Connection: DATABASE_URL, or DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASS, DB_SSLMODE.\n");
    return 2;
}

static int db_cli_check(db_conn *c, const db_settings *s)
{
    char err[1024];
    base_buf report;
    base_buf_init(&report);
    int problems = db_schema_check(c, &report, err, sizeof err);
    if (problems < 0) {
        fprintf(stderr, "scotty db check: %s\n", err);
        base_buf_free(&report);
        return 1;
    }
    if (report.len)
        fputs(report.data, problems ? stderr : stdout);
    base_buf_free(&report);
    if (problems) {
        fprintf(stderr,
                "scotty db check: %s is missing %d thing%s scotty needs (listed above); run "
                "Mastodon's migrations (or `scotty db init` on an empty database) and check again\n",
                s->describe, problems, problems == 1 ? "" : "s");
        return 1;
    }
    printf("scotty db check: %s has every table and column scotty uses\n", s->describe);
    return 0;
}

int db_startup_check(const db_settings *s, char *err, size_t errlen)
{
    db_conn *c = db_conn_new(s);
    base_buf report;
    base_buf_init(&report);
    char cerr[1024];
    int problems = db_schema_check(c, &report, cerr, sizeof cerr);
    db_conn_free(c);
    if (problems < 0) {
        snprintf(err, errlen, "%s", cerr);
        base_buf_free(&report);
        return -1;
    }
    for (char *line = report.data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        base_log(strncmp(line, "note:", 5) == 0 ? BASE_LOG_INFO : BASE_LOG_ERROR, "db check: %s", line);
    }
    base_buf_free(&report);
    if (problems) {
        snprintf(err, errlen, "%s is missing %d table(s), column(s), index(es) or function(s) "
                              "scotty needs (logged above); run Mastodon's migrations, then "
                              "`scotty db check`", s->describe, problems);
        return -1;
    }
    return 0;
}

int db_main(int argc, char **argv)
{
    if (argc != 2)
        return db_usage(stderr);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        db_usage(stdout);
        return 0;
    }
    bool init = strcmp(argv[1], "init") == 0;
    if (!init && strcmp(argv[1], "check") != 0)
        return db_usage(stderr);

    char err[1024];
    db_settings s;
    if (db_settings_from_env(&s, err, sizeof err) != 0) {
        fprintf(stderr, "scotty db %s: %s\n", argv[1], err);
        return 1;
    }
    db_conn *c = db_conn_new(&s);
    int rc;
    if (init) {
        rc = db_schema_init(c, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "scotty db init: %s%s\n", err,
                    rc == DB_TX_UNKNOWN ? " (run `scotty db check` to see whether it was)" : "");
        else
            printf("scotty db init: created Mastodon's tables, timestamp_id() and its sequences "
                   "in %s\n", s.describe);
        if (rc == 0)
            rc = db_cli_check(c, &s);
    } else {
        rc = db_cli_check(c, &s);
    }
    db_conn_free(c);
    return rc ? 1 : 0;
}
