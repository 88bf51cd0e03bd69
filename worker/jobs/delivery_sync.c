/* delivery_sync.c -- the Collection-Synchronization header Mastodon sends with
 * deliveries of followers-only posts (mastodon.md §2, DeliveryWorker), and the inbox
 * host helper the other delivery files use. */
#include "delivery.h"

#include <curl/curl.h>
#include <ctype.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

int delivery_url_host(const char *url, char *host, size_t len)
{
    CURLU *u = curl_url();
    char *h = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && strlen(h) < len) {
        for (size_t i = 0; h[i]; i++)
            host[i] = (char)tolower((unsigned char)h[i]);
        host[strlen(h)] = '\0';
        rc = 0;
    }
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

/* Account::URL_PREFIX_RE: "http(s)://" and everything up to the next slash. */
static int sync_url_prefix(const char *url, char *out, size_t len)
{
    size_t skip;
    if (strncmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return -1;
    size_t n = skip + strcspn(url + skip, "/");
    if (n == skip || n >= len)
        return -1;
    memcpy(out, url, n);
    out[n] = '\0';
    return 0;
}

/* LIKE pattern "<prefix>/%" with the prefix's own % _ and \ escaped. */
static void sync_like_pattern(const char *prefix, base_buf *out)
{
    for (const char *p = prefix; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            base_buf_add(out, "\\", 1);
        base_buf_add(out, p, 1);
    }
    base_buf_adds(out, "/%");
}

int delivery_sync_header(db_conn *db, int64_t account_id, const char *actor_uri,
                         const char *inbox_url, base_buf *out, char *err, size_t errlen)
{
    char prefix[1024], id[24];
    if (sync_url_prefix(inbox_url, prefix, sizeof prefix) != 0) {
        snprintf(err, errlen, "inbox URL %s has no http(s)://host prefix for "
                 "Collection-Synchronization", inbox_url);
        return -1;
    }
    snprintf(id, sizeof id, "%" PRId64, account_id);
    base_buf like;
    base_buf_init(&like);
    sync_like_pattern(prefix, &like);
    const char *params[] = {id, like.data, prefix};
    PGresult *res = db_exec(db, "scotty_delivery_followers",
                            "SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.account_id "
                            "WHERE f.target_account_id = $1 AND (a.uri LIKE $2 OR a.uri = $3)",
                            3, params, err, errlen);
    base_buf_free(&like);
    if (!res)
        return -1;
    unsigned char digest[SHA256_DIGEST_LENGTH] = {0}, one[SHA256_DIGEST_LENGTH];
    for (int i = 0; i < PQntuples(res); i++) {
        SHA256((const unsigned char *)PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), one);
        for (int j = 0; j < SHA256_DIGEST_LENGTH; j++)
            digest[j] ^= one[j];
    }
    PQclear(res);
    base_buf_addf(out, "collectionId=\"%s/followers\", digest=\"", actor_uri);
    for (int j = 0; j < SHA256_DIGEST_LENGTH; j++)
        base_buf_addf(out, "%02x", digest[j]);
    base_buf_addf(out, "\", url=\"%s/followers_synchronization\"", actor_uri);
    return 0;
}
