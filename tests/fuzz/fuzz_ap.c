/* fuzz_ap.c -- libFuzzer target for the ActivityPub parsers: an inbox body through
 * ap_parse (worker/ingress/ap_parse.c), and its `object` through ap_status_parse
 * (ap_status.c, ap_media.c, ap_poll.c) on its own, as a fetched object is read.
 *
 * The signer is the body's own `actor` when it has one, so fuzzed documents get past
 * the actor check to the object parsers. Properties of an accepted document: no crash
 * or leak, and the caps hold: at most AP_MAX_MEDIA attachments with http(s) URLs,
 * descriptions of at most AP_MAX_DESCRIPTION characters, focal points in -1..1, at
 * most AP_MAX_TAGS mentions and hashtags, at most EMOJI_MAX_PER_OBJECT custom emoji
 * (each with a valid shortcode), at most AP_MAX_AUDIENCE recipients, an http(s)
 * object id on the signer's host, and a poll within its caps (fz_check_poll). */
#include "ap.h"
#include "emoji_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool fz_http(const char *s)
{
    return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

static size_t fz_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A poll: at most AP_MAX_POLL_ITEMS items, every option a string, no more options
 * than tallies, votes_count their sum; nothing read when it is not a poll. */
static void fz_check_poll(const ap_poll *p)
{
    if (!p->present && (p->n_options || p->n_tallies))
        abort();
    if (p->n_tallies > AP_MAX_POLL_ITEMS || p->n_options > p->n_tallies)
        abort();
    for (size_t i = 0; i < p->n_options; i++)
        if (!p->options[i])
            abort();
    int64_t sum = 0;
    for (size_t i = 0; i < p->n_tallies; i++)
        sum += p->tallies[i];
    if (!p->unread && sum != p->votes_count)
        abort();
}

static void fz_check_status(const ap_status *s, const char *actor)
{
    if (!fz_http(s->uri) || !ap_same_host(actor, s->uri) || !s->url || !s->text || !s->spoiler_text)
        abort();
    if (s->n_media > AP_MAX_MEDIA || s->n_mentions > AP_MAX_TAGS || s->n_hashtags > AP_MAX_TAGS ||
        s->n_audience > AP_MAX_AUDIENCE)
        abort();
    if (s->emoji && s->emoji->n > EMOJI_MAX_PER_OBJECT)
        abort();
    for (size_t i = 0; s->emoji && i < s->emoji->n; i++)
        if (!emoji_shortcode_valid(s->emoji->tags[i].shortcode) || !fz_http(s->emoji->tags[i].url))
            abort();
    for (size_t i = 0; i < s->n_media; i++) {
        const ap_attachment *m = &s->media[i];
        if (!fz_http(m->remote_url))
            abort();
        if (m->description && fz_utf8_chars(m->description) > AP_MAX_DESCRIPTION)
            abort();
        if (m->has_focus && !(m->focus_x >= -1 && m->focus_x <= 1 && m->focus_y >= -1 && m->focus_y <= 1))
            abort();
    }
    for (size_t i = 0; i < s->n_hashtags; i++)
        if (!s->hashtags[i] || !s->hashtag_names[i])
            abort();
    fz_check_poll(&s->poll);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    json_t *doc = json_loadb(body, size, 0, NULL);
    const char *actor = ap_id_of(json_object_get(doc, "actor"));
    char *signer = strdup(actor ? actor : "https://remote.example/users/bob");
    size_t flen = strlen(signer) + sizeof "/followers";
    char *followers = malloc(flen);
    snprintf(followers, flen, "%s/followers", signer);

    char err[512];
    ap_activity a;
    if (ap_parse(body, size, signer, followers, &a, err, sizeof err) == 0) {
        if (!a.type || !a.actor || strcmp(a.actor, signer) != 0)
            abort();
        if (a.status)
            fz_check_status(a.status, signer);
        if (a.inner && a.inner->inner)
            abort(); /* an Undo of an Undo is refused */
    } else if (!err[0]) {
        abort(); /* a refusal says why */
    }
    ap_activity_free(&a);

    const json_t *obj = json_object_get(doc, "object");
    if (json_is_object(obj)) {
        ap_status s;
        int rc = ap_status_parse(obj, signer, followers, &s, err, sizeof err);
        if (rc == 0) {
            fz_check_status(&s, signer);
            /* canQuote flags: POLICY_FLAGS bits 0..3 in each 16-bit half */
            if (ap_quote_policy(s.can_quote, followers, "", signer) & ~0x000F000F)
                abort();
            if (s.quote_uri && !s.quote_present)
                abort();
            ap_status_free(&s);
        }
    }
    json_decref(doc);
    free(signer);
    free(followers);
    return 0;
}
