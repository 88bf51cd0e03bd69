/* ap_poll.c -- a Question's poll read as Mastodon's ActivityPub::Parser::PollParser
 * reads it, with the values Rails then casts into the polls row:
 *   items    (anyOf || oneOf).take(500): Ruby's ||, so a null or false anyOf falls to
 *            oneOf; more than 500 items are cut to 500, not refused
 *   options  name.presence || content of each item, items with neither left out
 *   tallies  replies.totalItems || 0 of every item, cast to bigint
 *   multiple anyOf is an array
 *   expiry   `closed` a time string; `closed` anything but null/false: now; else endTime
 *   voters   votersCount, cast to bigint (NULL when Rails casts it to nil)
 * Rails' integer cast (ActiveModel::Type::Integer): true 1, false 0, a number
 * truncated, a blank string nil, another string String#to_i ("12abc" 12, "abc" 0),
 * an array or object nil; out of the bigint range raises.
 *
 * Where Ruby raises on a shape (a oneOf that is a string or a non-empty object, an item
 * that is not an object, `replies` that is not an object, a nil tally, which
 * Array#sum cannot add, an endTime that is not a string, a value beyond bigint), or
 * where the answer depends on Ruby's lenient DateTime.parse (a time that is not
 * ISO 8601 yet could be read by it), `unread` says so and the activity is left to
 * Ruby, which does whatever it does with it. A time string with no digit and no month
 * or day name is one DateTime.parse refuses: expiry is then none, as PollParser's
 * `rescue ArgumentError` makes it, and `note` says so for the log. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ap_internal.h"
#include "base.h"

void ap_poll_free(ap_poll *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_options; i++)
        free(p->options[i]);
    free(p->options);
    free(p->tallies);
    memset(p, 0, sizeof *p);
}

/* Ruby's `x || y` on JSON: null (and absent) and false are the falsy values. */
static bool ap_poll_truthy(const json_t *v)
{
    return v && !json_is_null(v) && !json_is_false(v);
}

/* String#to_i: leading white space, a sign, digits with single underscores between
 * them; 0 when none. Returns false beyond the bigint range. */
static bool ap_poll_to_i(const char *s, int64_t *out)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while (*s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
        if (*s == '_' && s[1] >= '0' && s[1] <= '9')
            s++;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Rails' bigint cast of a JSON value: 0 with *out, 1 for nil, -1 where saving raises
 * (out of range). */
static int ap_poll_int_cast(const json_t *v, int64_t *out)
{
    if (!v || json_is_null(v))
        return 1;
    if (json_is_true(v) || json_is_false(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (ap_blank(s))
            return 1;
        return ap_poll_to_i(s, out) ? 0 : -1;
    }
    return 1; /* an array or object: presence, then to_i raises and is rescued to nil */
}

/* Whether DateTime.parse certainly refuses s: no digit, and no month or day name
 * (the only parts Date._parse reads without digits). */
static bool ap_poll_surely_no_date(const char *s)
{
    static const char *const names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                        "oct", "nov", "dec", "sun", "mon", "tue", "wed", "thu", "fri",
                                        "sat", NULL};
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            return false;
        for (const char *const *n = names; *n; n++)
            if (strncasecmp(p, *n, 3) == 0)
                return false;
    }
    return true;
}

/* String#to_datetime of `closed` or `endTime` (key names it for the messages). */
static void ap_poll_time(ap_poll *p, const char *s, const char *key)
{
    if (ap_blank(s))
        return; /* to_datetime of a blank string is nil */
    int32_t ns = 0;
    int64_t ms = 0;
    if (base_time_parse(s, &ms, &ns)) {
        p->expiry = AP_POLL_AT;
        p->expires_us = ms * 1000 + (ns / 1000) % 1000;
        return;
    }
    if (ap_poll_surely_no_date(s)) {
        p->note = strcmp(key, "closed") == 0 ? "`closed` is not a date (the poll is stored without an "
                                               "expiry, as Mastodon does)"
                                             : "`endTime` is not a date (the poll is stored without an "
                                               "expiry, as Mastodon does)";
        return;
    }
    p->unread = strcmp(key, "closed") == 0
                    ? "a poll whose `closed` is a time that is not ISO 8601 (Ruby's lenient DateTime.parse reads it)"
                    : "a poll whose `endTime` is a time that is not ISO 8601 (Ruby's lenient DateTime.parse reads it)";
}

static void ap_poll_expiry_read(const json_t *obj, ap_poll *p)
{
    const json_t *closed = json_object_get(obj, "closed");
    if (json_is_string(closed)) {
        ap_poll_time(p, json_string_value(closed), "closed");
        return;
    }
    if (ap_poll_truthy(closed)) {
        p->expiry = AP_POLL_NOW;
        return;
    }
    const json_t *end = json_object_get(obj, "endTime");
    if (!end || json_is_null(end))
        return;
    if (!json_is_string(end)) {
        p->unread = "a poll whose `endTime` is not a string (Mastodon's PollParser raises on it)";
        return;
    }
    ap_poll_time(p, json_string_value(end), "endTime");
}

/* name.presence || content of one item: 0 with *out (NULL: the item has no option
 * title), -1 for a value Rails would store in a form scotty does not reproduce. */
static int ap_poll_title(const json_t *item, const char **out)
{
    const json_t *name = json_object_get(item, "name");
    *out = NULL;
    if (json_is_string(name) && !ap_blank(json_string_value(name))) {
        *out = json_string_value(name);
        return 0;
    }
    bool blank = !name || json_is_null(name) || json_is_false(name) || json_is_string(name) ||
                 (json_is_array(name) && json_array_size(name) == 0) ||
                 (json_is_object(name) && json_object_size(name) == 0);
    if (!blank)
        return -1;
    const json_t *content = json_object_get(item, "content");
    if (!content || json_is_null(content) || json_is_false(content))
        return 0;
    if (!json_is_string(content))
        return -1;
    *out = json_string_value(content);
    return 0;
}

static void ap_poll_items(const json_t *items, ap_poll *p)
{
    size_t n = json_array_size(items);
    if (n > AP_MAX_POLL_ITEMS)
        n = AP_MAX_POLL_ITEMS;
    p->options = calloc(n ? n : 1, sizeof *p->options);
    p->tallies = calloc(n ? n : 1, sizeof *p->tallies);
    if (!p->options || !p->tallies)
        abort();
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(items, i);
        if (!json_is_object(item)) {
            p->unread = "a poll item that is not an object (Mastodon's PollParser raises on it)";
            return;
        }
        const char *title;
        if (ap_poll_title(item, &title) < 0) {
            p->unread = "a poll item whose name or content is not a string";
            return;
        }
        if (title)
            p->options[p->n_options++] = ap_strdup(title);
        const json_t *replies = json_object_get(item, "replies");
        int64_t t = 0;
        if (replies && !json_is_null(replies)) {
            if (!json_is_object(replies)) {
                p->unread = "a poll item whose `replies` is not an object (Mastodon's PollParser raises on it)";
                return;
            }
            const json_t *total = json_object_get(replies, "totalItems");
            int rc = ap_poll_truthy(total) ? ap_poll_int_cast(total, &t) : 0;
            if (rc == 1) {
                p->unread = "a poll item whose totalItems Rails casts to nil (Poll#votes_count cannot add it)";
                return;
            }
            if (rc < 0) {
                p->unread = "a poll item whose totalItems is beyond the bigint range";
                return;
            }
        }
        if ((t > 0 && p->votes_count > INT64_MAX - t) || (t < 0 && p->votes_count < INT64_MIN - t)) {
            p->unread = "a poll whose votes add up beyond the bigint range";
            return;
        }
        p->votes_count += t;
        p->tallies[p->n_tallies++] = t;
    }
}

void ap_poll_parse(const json_t *obj, ap_poll *out)
{
    memset(out, 0, sizeof *out);
    if (!ap_equals_or_includes(json_object_get(obj, "type"), "Question"))
        return;
    const json_t *any = json_object_get(obj, "anyOf");
    const json_t *items = ap_poll_truthy(any) ? any : json_object_get(obj, "oneOf");
    if (!items || json_is_null(items))
        return; /* not a poll: a plain status */
    if (json_is_object(items) && json_object_size(items) == 0) {
        out->present = true; /* Hash#take gives [] */
        out->multiple = json_is_array(any);
        ap_poll_expiry_read(obj, out);
        return;
    }
    if (!json_is_array(items)) {
        out->unread = "a poll whose anyOf/oneOf is not an array (Mastodon's PollParser raises on it)";
        return;
    }
    out->present = true;
    out->multiple = json_is_array(any);
    ap_poll_expiry_read(obj, out);
    if (out->unread)
        return;
    ap_poll_items(items, out);
    if (out->unread)
        return;
    int64_t v = 0;
    int rc = ap_poll_int_cast(json_object_get(obj, "votersCount"), &v);
    if (rc < 0)
        out->unread = "a poll whose votersCount is beyond the bigint range";
    out->has_voters = rc == 0;
    out->voters_count = rc == 0 ? v : 0;
}
