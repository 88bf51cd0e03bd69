/* acct_internal.h -- what the worker/accounts files share: domain blocks, WebFinger,
 * the ProcessAccountService core and the database write. Private to worker/accounts. */
#ifndef SCOTTY_ACCT_INTERNAL_H
#define SCOTTY_ACCT_INTERNAL_H

#include "acct.h"
#include "acct_parse.h"

#define ACCT_DISCOVERIES_PER_REQUEST 400   /* ProcessAccountService::DISCOVERIES_PER_REQUEST */
#define ACCT_REFRESH_LOCK_TTL_S 86400      /* AccountRefreshWorker's lock_ttl */

/* The Redis key that holds AccountRefreshWorker's until_executed lock for an account. */
void acct_refresh_key(char *buf, size_t len, int64_t account_id);

/* DomainBlock.rule_for(domain): the most specific block of the domain or a parent. */
typedef struct acct_block {
    bool found;
    int severity;              /* silence 0, suspend 1, noop 2 */
    bool reject_media;
    char created_at[40];       /* as PostgreSQL prints it, for silenced_at */
} acct_block;
/* Returns 0 (out->found says whether a rule applies), or -1 with err. */
int acct_block_for(db_conn *c, const char *domain, acct_block *out, char *err, size_t errlen);

/* Webfinger.new("acct:user@domain").perform. Returns 0 with *out; 1 when Mastodon raises
 * Webfinger::Error (any failure, *gone set for a 410); err says why. */
int acct_webfinger(services *s, const char *user, const char *domain, acct_jrd *out, bool *gone,
                   char *err, size_t errlen);

/* Before a new account of `domain` is created: ACCT_NONE (err says why) when 10
 * subdomains of its registrable name got their first account in the last minute,
 * ACCT_RETRY when Redis cannot tell, else ACCT_RESOLVED. */
acct_outcome acct_subdomains_check(q_ctx *ctx, const char *domain, char *err, size_t errlen);
/* After a new account of `domain` is committed (DomainMaterializable): a domain the
 * `instances` view does not list yet refreshes it and is counted for one minute.
 * Failures are logged; the account stays. */
void acct_subdomains_count(q_ctx *ctx, services *s, const char *domain);

/* How ProcessAccountService was called. */
typedef struct acct_process_opts {
    int64_t account_id;        /* account: (an Update's actor), 0 for none */
    bool only_key;
    bool signed_with_known_key;
    const char *request_id;    /* NULL: "<epoch>-user@domain" */
    int depth;                 /* movedTo resolutions above this one */
} acct_process_opts;

/* ActivityPub::ProcessAccountService#call for a document whose origin the caller
 * checked (its id is where it came from). */
acct_outcome acct_process(q_ctx *ctx, services *s, const json_t *doc, const acct_process_opts *o,
                          ingress_account *out, char *err, size_t errlen);

/* FetchRemoteAccountService with break_on_redirect (movedTo) and a depth. */
acct_outcome acct_fetch_depth(q_ctx *ctx, services *s, const char *uri, const char *request_id,
                              bool break_on_redirect, int depth, ingress_account *out, char *err,
                              size_t errlen);

/* The row ProcessAccountService saves: the parsed actor plus what was fetched and
 * decided around it. */
typedef struct acct_write {
    const acct_actor *a;
    int64_t account_id;          /* 0: create; set by acct_store */
    bool only_key, suspended;    /* suspended: the stored account is (attributes stay) */
    bool silence;                /* a new account under a silence block */
    char silenced_at[40];
    bool skip_download;          /* suspended, or reject_media */
    bool avatar_changed, header_changed; /* the remote URL differs from the stored one */
    long long statuses_count, following_count, followers_count; /* -1: unknown */
    bool hide_collections;
    int64_t moved_to_account_id; /* 0: none */
    bool keypairs_table;         /* newer Mastodon: keys go to keypairs */
    bool rename;                 /* an existing account's handle changes */
} acct_write;
/* Writes the account, its keys and its stats in one transaction. Returns 0; 1 with err
 * when the handle belongs to another account (username collision: nothing written);
 * -1 or DB_TX_UNKNOWN with err. */
int acct_store(db_conn *c, acct_write *w, char *err, size_t errlen);

/* An image file an account row names, as its storage keys need it. */
typedef struct acct_old_image {
    char file_name[256];       /* "" when none */
    bool gif;                  /* a GIF also has a `static` PNG */
    bool cached;               /* storage_schema_version >= 1: under cache/ */
} acct_old_image;
/* Deletes the objects of a replaced avatar or header (attachment "avatars" or
 * "headers") of account `id`, as Paperclip does when a new file is assigned; failures
 * are logged (acct_images.c). */
void acct_delete_old_image(services *s, const char *attachment, int64_t id, const acct_old_image *old);

#endif
