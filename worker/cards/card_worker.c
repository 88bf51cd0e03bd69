/* card_worker.c -- LinkCrawlWorker [status_id, url] (queue pull, retry 0) as
 * FetchLinkCardService#call runs it: the link (the job's url, else the status's first
 * eligible link), Mastodon's skips (a card already, media, a quote), lock
 * fetch:<url>, the existing card reused unless missing, two weeks old or without an
 * image, then oEmbed and else OpenGraph from the page (one fetch, the card keyed by
 * the last redirect's URL or the page's canonical URL), the image, the row, and
 * attach_card under lock attach_card:<status_id>. Every failure Mastodon rescues
 * ends the job with a log line and no card; a local status (whose links Mastodon
 * finds in plain text) is forwarded to --forward-unhandled. */
#include "card_internal.h"
#include "ingress/attach_internal.h"
#include "ingress/ingress_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One job's state. */
typedef struct card_job {
    services *s;
    q_ctx *ctx;
    int64_t status_id;
    const char *original_url;  /* the status's link, as attached */
    char *url;                 /* @url: the original, then the page's final URL */
    card_row row;              /* @card as found by url */
    card_page *page;
    bool page_fetched;
    double t0, media_cpu;
    char note[160];            /* what the card got, for the log line */
} card_job;

static const char *card_web_domain(const services *s)
{
    const char *w = getenv("WEB_DOMAIN");
    return w && *w ? w : s->local_domain;
}

static int card_find(card_job *j, const char *url, char *err, size_t errlen)
{
    db_conn *c = db_pool_acquire(j->s->db);
    int rc = card_row_find(c, url, &j->row, err, errlen);
    db_pool_release(j->s->db, c);
    return rc;
}

/* FetchLinkCardService#html: fetched once; NULL (with *fatal for rescued errors)
 * when there is no page. */
static card_page *card_html(card_job *j, bool *fatal, char *why, size_t whylen)
{
    *fatal = false;
    if (j->page_fetched)
        return j->page;
    j->page_fetched = true;
    card_response resp;
    card_got got = card_fetch_page(j->s, j->url, &resp, why, whylen);
    if (got == CARD_ERROR)
        *fatal = true;
    if (got != CARD_GOT)
        return NULL;
    char *final = card_url_normalize(resp.final_url ? resp.final_url : j->url);
    if (final && strcmp(final, j->url) != 0) {
        free(j->url);
        j->url = final;
        final = NULL;
        char err[256];
        if (card_find(j, j->url, err, sizeof err) != 0) {
            snprintf(why, whylen, "database: %s", err);
            *fatal = true;
            card_response_free(&resp);
            return NULL;
        }
    }
    free(final);
    j->page = card_page_parse(resp.body, resp.len, resp.charset, why, whylen);
    if (!j->page)
        *fatal = true;
    card_response_free(&resp);
    return j->page;
}

/* Downloads and processes a.image_url, then saves the card under its id. Returns the
 * card's id, 0 when nothing was saved (why says), -1 when the database failed. */
static int64_t card_save(card_job *j, card_attrs *a, const card_row *row, char *why, size_t whylen)
{
    if (strlen(a->url) > CARD_URL_MAX) {
        /* validates :url, length: URL_CHARACTER_LIMIT: RecordInvalid, rescued */
        snprintf(why, whylen, "the card URL is longer than %d characters", CARD_URL_MAX);
        return 0;
    }
    card_image img;
    bool have_img = false, clear = false;
    char dir[512] = "";
    if (a->image_url) {
        char err[512];
        if (attach_tmpdir(dir, sizeof dir, err, sizeof err) != 0) {
            base_log(BASE_LOG_WARN, "cards: image of %s skipped: %s", a->url, err);
        } else if (card_image_make(j->s, j->ctx, a->image_url, dir, &img, &j->media_cpu, err, sizeof err) == 0) {
            have_img = true;
        } else {
            base_log(BASE_LOG_INFO, "cards: image %s of %s not used (the card is saved without it): %s",
                     a->image_url, a->url, err);
            clear = row->exists && !row->missing_image;
        }
    }
    if (have_img && a->type == CARD_TYPE_LINK) {
        a->width = img.width;
        a->height = img.height;
        a->set |= CARD_COL_WIDTH | CARD_COL_HEIGHT;
    }
    db_conn *c = db_pool_acquire(j->s->db);
    char err[512];
    int64_t id = row->exists ? row->id : 0;
    int64_t result = -1;
    if (!row->exists && card_next_id(c, &id, err, sizeof err) != 0)
        goto done;
    char key[1024] = "";
    if (have_img && card_image_store(j->s, id, &img, key, sizeof key, err, sizeof err) != 0) {
        base_log(BASE_LOG_WARN, "cards: image of %s not stored (the card is saved without it): %s", a->url, err);
        have_img = false;
        key[0] = '\0';
    }
    int rc = card_row_save(c, a, row, id, have_img ? &img : NULL, clear, err, sizeof err);
    if (rc != 0) {
        if (key[0]) {
            char w[256];
            objstore_delete(j->s->store, key, w, sizeof w);
        }
        if (rc > 0) {
            snprintf(why, whylen, "another job saved the card for %s at the same time", a->url);
            result = 0;
        }
        goto done;
    }
    if (row->exists && (have_img || clear))
        card_image_delete(j->s, row);
    snprintf(j->note, sizeof j->note, "type %d, %s", a->type,
             have_img ? "with image" : a->image_url ? "image failed" : "no image");
    result = id;
done:
    if (result < 0)
        snprintf(why, whylen, "database: %s", err);
    db_pool_release(j->s->db, c);
    if (dir[0])
        attach_rmtree(dir);
    return result;
}

/* attempt_oembed: 1 with *id when a card came of it, 0 to try OpenGraph, -1 to end
 * without a card (why), -2 database. */
static int card_try_oembed(card_job *j, int64_t *id, char *why, size_t whylen)
{
    bool fatal;
    card_page *page = card_html(j, &fatal, why, whylen);
    if (!page)
        return fatal ? -1 : 0;
    bool xml;
    char *endpoint = card_oembed_endpoint(page, j->original_url, &xml);
    if (!endpoint)
        return 0;
    card_response resp;
    char w[512];
    card_got got = card_fetch_oembed(j->s, endpoint, &resp, w, sizeof w);
    if (got == CARD_ERROR) {
        snprintf(why, whylen, "oEmbed: %s", w);
        free(endpoint);
        return -1;
    }
    int out = 0;
    if (got == CARD_GOT) {
        card_attrs a;
        card_oembed_result res = card_oembed_apply(resp.body, resp.len, xml, endpoint, &a, w, sizeof w);
        if (res == CARD_OEMBED_CARD) {
            a.url = strdup(j->url);
            int64_t saved = a.url ? card_save(j, &a, &j->row, why, whylen) : -1;
            out = saved > 0 ? 1 : saved == 0 ? -1 : -2;
            *id = saved;
        } else {
            base_log(BASE_LOG_DEBUG, "cards: oEmbed %s not used: %s", endpoint, w);
        }
        card_attrs_clear(&a);
    }
    card_response_free(&resp);
    free(endpoint);
    return out;
}

/* attempt_opengraph: 1 with *id, 0 no card (why; an existing card stays attached),
 * -1 the save failed as Mastodon's raises (why), -2 database. */
static int card_try_opengraph(card_job *j, int64_t *id, char *why, size_t whylen)
{
    bool fatal;
    card_page *page = card_html(j, &fatal, why, whylen);
    if (!page)
        return 0;
    card_attrs a;
    if (card_details_extract(page, j->url, &a) != 0) {
        snprintf(why, whylen, "out of memory reading the page");
        card_attrs_clear(&a);
        return 0;
    }
    card_row row = j->row;
    char err[256];
    if (strcmp(a.url, j->url) != 0) {
        db_conn *c = db_pool_acquire(j->s->db);
        int rc = card_row_find(c, a.url, &row, err, sizeof err);
        db_pool_release(j->s->db, c);
        if (rc != 0) {
            snprintf(why, whylen, "database: %s", err);
            card_attrs_clear(&a);
            return -2;
        }
    }
    int out = 0;
    if (a.author_account)
        base_log(BASE_LOG_DEBUG, "cards: fediverse:creator %s of %s left unresolved (no author account)",
                 a.author_account, a.url);
    if (card_blank(a.title) && card_blank(a.html)) {
        snprintf(why, whylen, "the page has no title and no player (%s)", card_page_encoding(page));
    } else {
        int64_t saved = card_save(j, &a, &row, why, whylen);
        out = saved > 0 ? 1 : saved == 0 ? -1 : -2;
        *id = saved;
    }
    card_attrs_clear(&a);
    return out;
}

/* attach_card. Returns 0 or -1 with err. */
static int card_attach(card_job *j, int64_t card_id, const card_status *st, char *err, size_t errlen)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, j->status_id);
    ingress_lock lock;
    if (ingress_lock_or_retry(j->ctx, "attach_card", sid, &lock, err, errlen) != 0)
        return -1;
    db_conn *c = db_pool_acquire(j->s->db);
    bool has = false, ready = false;
    int rc = card_status_has_card(c, j->status_id, &has, err, errlen);
    if (rc == 0 && !has)
        rc = card_attach_row(c, j->status_id, card_id, j->original_url, err, errlen);
    if (rc == 0 && !has && st->trend_ok)
        rc = card_trend_ready(c, card_id, &ready, err, errlen);
    db_pool_release(j->s->db, c);
    if (rc == 0 && !has)
        card_cache_forget(j->ctx, j->status_id);
    if (rc == 0 && ready)
        card_trends_register(j->ctx, card_id, st->account_id);
    ingress_lock_release(j->ctx, &lock);
    return rc;
}

/* Everything under lock fetch:<url>: 0 (with *card_id, 0 for none), -1 with err for
 * what fails the job. */
static int card_process(card_job *j, int64_t *card_id, char *err, size_t errlen)
{
    *card_id = 0;
    if (card_find(j, j->url, err, errlen) != 0)
        return -1;
    if (j->row.exists && !j->row.stale && !j->row.missing_image) {
        *card_id = j->row.id;
        snprintf(j->note, sizeof j->note, "existing card reused");
        return 0;
    }
    char why[1024] = "";
    int64_t id = 0;
    int rc = card_try_oembed(j, &id, why, sizeof why);
    if (rc == 0)
        rc = card_try_opengraph(j, &id, why, sizeof why);
    if (rc == -2) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (rc == 1) {
        *card_id = id;
    } else if (rc == 0 && j->row.exists) {
        *card_id = j->row.id; /* @card&.persisted?: the old card stays attached */
        snprintf(j->note, sizeof j->note, "existing card kept (refetch failed: %.120s)", why);
    } else {
        base_log(BASE_LOG_INFO, "LinkCrawlWorker: no card for status %" PRId64 " from %s: %s", j->status_id,
                 j->original_url, why[0] ? why : "nothing usable");
    }
    return 0;
}

static void card_link_crawl(q_ctx *ctx, const q_job *job, q_result *r)
{
    json_t *sid = json_array_get(job->args, 0), *url = json_array_get(job->args, 1);
    if (!json_is_integer(sid) || (url && !json_is_string(url) && !json_is_null(url))) {
        q_fail(r, "ArgumentError", "expected [status_id integer, url string or null]");
        return;
    }
    services *s = q_ctx_user(ctx);
    if (!s || !s->db) {
        q_fail(r, "Scotty::NotConfigured", "LinkCrawlWorker needs the database: %s",
               s ? s->db_missing : "services not opened");
        return;
    }
    card_job j = {.s = s, .ctx = ctx, .status_id = (int64_t)json_integer_value(sid), .t0 = base_monotonic()};
    char err[1024];
    card_status st;
    db_conn *c = db_pool_acquire(s->db);
    int rc = card_status_load(c, j.status_id, &st, err, sizeof err);
    db_pool_release(s->db, c);
    if (rc != 0) {
        q_fail(r, "ActiveRecord::ConnectionNotEstablished", "%s", err);
        card_status_free(&st);
        return;
    }
    if (!st.found || st.has_card || st.has_media || st.has_quote) {
        card_status_free(&st);
        return; /* RecordNotFound, or a status Mastodon gives no card */
    }
    char *picked = NULL;
    if (json_is_string(url)) {
        j.original_url = json_string_value(url);
    } else if (st.local) {
        card_status_free(&st);
        if (!s->forward_unhandled[0]) {
            q_fail(r, "NotImplementedError", "the links of local status %" PRId64 " are plain text, which scotty "
                   "does not scan; run LinkCrawlWorker on a Ruby Sidekiq, or start scotty with "
                   "--forward-unhandled QUEUE", j.status_id);
            return;
        }
        q_forward(r, s->forward_unhandled);
        base_log(BASE_LOG_INFO, "class=%s jid=%s forwarded unchanged to queue %s: local status %" PRId64,
                 job->klass, job->jid, s->forward_unhandled, j.status_id);
        return;
    } else {
        picked = card_pick_link(st.text, strlen(st.text), (const char *const *)st.mentions, st.n_mentions,
                                card_web_domain(s));
        j.original_url = picked;
    }
    if (!j.original_url) {
        card_status_free(&st);
        return;
    }
    j.url = strdup(j.original_url);
    ingress_lock lock;
    int64_t card_id = 0;
    if (!j.url) {
        q_fail(r, "NoMemoryError", "out of memory");
    } else if (ingress_lock_or_retry(ctx, "fetch", j.original_url, &lock, err, sizeof err) != 0) {
        q_fail(r, "Mastodon::RaceConditionError", "%s", err);
    } else {
        rc = card_process(&j, &card_id, err, sizeof err);
        ingress_lock_release(ctx, &lock);
        if (rc != 0)
            q_fail(r, "ActiveRecord::StatementInvalid", "link card for status %" PRId64 ": %s", j.status_id, err);
        else if (card_id > 0 && card_attach(&j, card_id, &st, err, sizeof err) != 0)
            q_fail(r, "ActiveRecord::StatementInvalid", "attaching card %" PRId64 " to status %" PRId64 ": %s",
                   card_id, j.status_id, err);
        else if (card_id > 0)
            base_log(BASE_LOG_INFO, "LinkCrawlWorker: status %" PRId64 " has card %" PRId64 " for %s (%s), "
                     "%.3f s, media child %.3f CPU-s", j.status_id, card_id, j.url, j.note,
                     base_monotonic() - j.t0, j.media_cpu);
    }
    card_page_free(j.page);
    free(j.url);
    free(picked);
    card_status_free(&st);
}

void card_register(q_registry *reg)
{
    static const q_handler handler = {"LinkCrawlWorker", card_link_crawl, 0, NULL, false};
    card_parse_init();
    q_registry_add(reg, &handler);
}
