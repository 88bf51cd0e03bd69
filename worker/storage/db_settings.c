/* db_settings.c -- PostgreSQL connection settings from Mastodon's environment:
 * DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS/DB_SSLMODE with the
 * defaults of Mastodon's config/database.yml, plus PREPARED_STATEMENTS. */
#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *db_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int db_settings_add(db_settings *s, const char *key, const char *value,
                           char *err, size_t errlen)
{
    if (!value)
        return 0;
    if (s->n >= (int)(sizeof s->keys / sizeof s->keys[0]) - 1 ||
        strlen(value) >= sizeof s->values[0]) {
        snprintf(err, errlen, "database setting %s is too long (at most %zu bytes)", key,
                 sizeof s->values[0] - 1);
        return -1;
    }
    snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
    snprintf(s->values[s->n], sizeof s->values[0], "%s", value);
    s->n++;
    return 0;
}

/* Describes a URL without its password: scheme://user@host... */
static void db_describe_url(const char *url, char *out, size_t len)
{
    const char *scheme_end = strstr(url, "://");
    const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;
    if (!at) {
        snprintf(out, len, "%s", url);
        return;
    }
    const char *colon = memchr(scheme_end + 3, ':', (size_t)(at - (scheme_end + 3)));
    if (!colon) {
        snprintf(out, len, "%s", url);
        return;
    }
    snprintf(out, len, "%.*s:***%s", (int)(colon - url), url, at);
}

int db_settings_from_env(db_settings *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *url = db_env("DATABASE_URL", NULL);
    int rc = 0;
    if (url) {
        /* Expanded by libpq (expand_dbname); settings after it override the URL. */
        rc |= db_settings_add(s, "dbname", url, err, errlen);
        db_describe_url(url, s->describe, sizeof s->describe);
    } else {
        const char *host = db_env("DB_HOST", "localhost");
        const char *port = db_env("DB_PORT", "5432");
        const char *name = db_env("DB_NAME", "mastodon_production");
        const char *user = db_env("DB_USER", "mastodon");
        rc |= db_settings_add(s, "host", host, err, errlen);
        rc |= db_settings_add(s, "port", port, err, errlen);
        rc |= db_settings_add(s, "dbname", name, err, errlen);
        rc |= db_settings_add(s, "user", user, err, errlen);
        rc |= db_settings_add(s, "password", db_env("DB_PASS", NULL), err, errlen);
        rc |= db_settings_add(s, "sslmode", db_env("DB_SSLMODE", NULL), err, errlen);
        snprintf(s->describe, sizeof s->describe, "postgresql://%s@%s:%s/%s", user, host, port,
                 name);
    }
    rc |= db_settings_add(s, "application_name", "scotty", err, errlen);
    rc |= db_settings_add(s, "connect_timeout", db_env("SCOTTY_DB_CONNECT_TIMEOUT", "5"), err,
                          errlen);
    if (rc)
        return -1;

    const char *prep = db_env("PREPARED_STATEMENTS", "true");
    s->prepared_statements = strcmp(prep, "false") != 0;

    const char *timeout = db_env("SCOTTY_DB_STATEMENT_TIMEOUT", "60000");
    char *end;
    long ms = strtol(timeout, &end, 10);
    if (*end || ms < 0 || ms > 86400000L) {
        snprintf(err, errlen,
                 "SCOTTY_DB_STATEMENT_TIMEOUT=%s is not a number of milliseconds "
                 "(0 to 86400000; 0 disables the timeout)", timeout);
        return -1;
    }
    s->statement_timeout_ms = (int)ms;
    return 0;
}
