/* card_internal.h -- what the worker side of link cards shares (card_worker.c,
 * card_fetch.c, card_store.c, card_image.c, card_trends.c): the page and oEmbed
 * requests, the rows, the image, and the trends registration. Private to
 * worker/cards. */
#ifndef SCOTTY_CARD_INTERNAL_H
#define SCOTTY_CARD_INTERNAL_H

#include "card.h"
#include "card_parse.h"
#include "services.h"

#include <stdint.h>

/* ---- requests (card_fetch.c) ---- */
typedef enum {
    CARD_GOT = 0,    /* a body */
    CARD_NOTHING,    /* Mastodon's `next`/nil: not 200, not text/html (no card from it) */
    CARD_ERROR       /* a rescued error (connection, timeout, refused address, over
                      * the cap, bad URL): the whole fetch ends without a card */
} card_got;

typedef struct card_response {
    char *body;
    size_t len;
    char charset[64];   /* the Content-Type's charset, "" without */
    char *final_url;    /* the URL of the last redirect hop */
} card_response;
void card_response_free(card_response *r);

/* The page: GET with Accept text/html, Accept-Language "<DEFAULT_LOCALE>, *;q=0.5",
 * the client's User-Agent plus " Bot", Mastodon's 3 redirects and timeouts, 1 MB cap.
 * Only an HTTP 200 text/html answer counts. */
card_got card_fetch_page(services *s, const char *url, card_response *out, char *why, size_t whylen);
/* The oEmbed endpoint: plain GET, 200 only, body_with_limit's 1 MB. */
card_got card_fetch_oembed(services *s, const char *url, card_response *out, char *why, size_t whylen);

/* ---- rows (card_store.c) ---- */
typedef struct card_status {
    bool found;          /* exists and is not deleted */
    bool local;          /* local? (local, or no uri) */
    bool has_card, has_media, has_quote;
    bool trend_ok;       /* public, unsilenced, no spoiler, not sensitive (and its reblog's) */
    int64_t account_id;
    char *text;
    char **mentions;     /* url_for of each mentioned remote account */
    size_t n_mentions;
} card_status;
int card_status_load(db_conn *c, int64_t id, card_status *st, char *err, size_t errlen);
void card_status_free(card_status *st);
/* preview_cards_statuses has a row for the status (with_preview_card?). */
int card_status_has_card(db_conn *c, int64_t status_id, bool *has, char *err, size_t errlen);

typedef struct card_row {
    bool exists;
    int64_t id;
    bool stale;              /* updated_at <= 2 weeks ago */
    bool missing_image;      /* image_file_name blank */
    char image_file_name[128];
    char image_content_type[64];
    int image_schema;        /* image_storage_schema_version, 0 when NULL */
} card_row;
/* PreviewCard.find_by(url:). 0, or -1 with err. */
int card_row_find(db_conn *c, const char *url, card_row *row, char *err, size_t errlen);

/* The processed image the row gets (or NULL: the image columns are left alone, or
 * cleared when `clear_image`). */
typedef struct card_image {
    char file_name[64];      /* <16 hex>.<ext>, ext from the content type */
    char content_type[32];   /* of the downloaded image */
    int64_t file_size;       /* of the stored original style */
    int width, height;       /* of the stored original style */
    char blurhash[64];
    char path[600];          /* the processed file */
    char stored_ext[8];      /* the stored style's extension (jpg for a GIF) */
} card_image;

/* Inserts the card (id from preview_cards_id_seq, already in *id when nonzero) or
 * updates row->id with the assigned columns, updated_at only when something
 * changed; the image columns from img, or cleared. Returns 0, 1 when another
 * job inserted the same URL meanwhile (RecordNotUnique: nothing written), -1 with err. */
int card_row_save(db_conn *c, const card_attrs *a, const card_row *row, int64_t id,
                  const card_image *img, bool clear_image, char *err, size_t errlen);
/* preview_cards_id_seq's next value. */
int card_next_id(db_conn *c, int64_t *id, char *err, size_t errlen);
/* PreviewCardsStatus.create(status:, preview_card:, url: original_url). */
int card_attach_row(db_conn *c, int64_t status_id, int64_t card_id, const char *url, char *err,
                    size_t errlen);
/* The card's title, description, image, provider and types for appropriate_for_trends?. */
int card_trend_ready(db_conn *c, int64_t card_id, bool *ready, char *err, size_t errlen);

/* ---- the image (card_image.c) ---- */
/* remotable_attachment :image, 8 MB: downloads url into dir, checks it is a JPEG, PNG,
 * GIF or WebP, and has the media child make the "preview_card" style (640x360-area
 * original, blurhash). Returns 0 with img, -1 with why (no image: Mastodon saves the
 * card without one). *cpu adds the child's CPU seconds. */
int card_image_make(services *s, q_ctx *ctx, const char *url, const char *dir, card_image *img,
                    double *cpu, char *why, size_t whylen);
/* Uploads img for card id at Mastodon's key (cache/preview_cards/images/<partition>/
 * original/<name>), recording the key in `key`. Returns 0 or -1 with err. */
int card_image_store(services *s, int64_t id, const card_image *img, char *key, size_t keylen,
                     char *err, size_t errlen);
/* Deletes the stored image of a row (its original style); failures are logged. */
void card_image_delete(services *s, const card_row *row);

/* ---- Redis after attach_card (card_trends.c) ---- */
/* Rails.cache.delete(status): drops "cache:statuses/<id>" so the API shows the card. */
void card_cache_forget(q_ctx *ctx, int64_t status_id);
/* Records the card's use by account in Mastodon's Redis keys when the status and
 * card qualify. Failures are logged. */
void card_trends_register(q_ctx *ctx, int64_t card_id, int64_t account_id);

#endif
