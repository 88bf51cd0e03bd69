/* ingress_delete.h -- the status removal of ActivityPub::Activity::Delete, shared by
 * ingress_delete.c (the activity, the transaction) and ingress_delete_effects.c
 * (feeds, streams and stored files). Private to worker/ingress. */
#ifndef SCOTTY_INGRESS_DELETE_H
#define SCOTTY_INGRESS_DELETE_H

#include "ingress_internal.h"

typedef struct ingress_delete_effects {
    int64_t status_id, account_id;
    int visibility;
    char **followers;          /* ids of local accounts following the author */
    size_t n_followers;
    char **mentions;           /* ids of non-silently mentioned accounts */
    size_t n_mentions;
    char **tags;               /* lower-cased hashtag names */
    size_t n_tags;
    size_t n_media;
    char **keys;               /* stored files of its attachments */
    size_t n_keys;
} ingress_delete_effects;

/* Reads what the effects need, before the rows go. Returns 0 or -1 with err. */
int ingress_delete_collect(db_conn *c, services *s, ingress_delete_effects *e, char *err, size_t errlen);
/* After the commit: feeds, streams, files. Failures are logged. */
void ingress_delete_apply(q_ctx *ctx, services *s, const ingress_delete_effects *e);
void ingress_delete_effects_free(ingress_delete_effects *e);

#endif
