/* config_schedule.c -- the sidekiq-scheduler block of a sidekiq.yml:
 *   :scheduler:
 *     :listened_queues_only: true
 *     :missed: skip | once          (scotty: policy for firings missed in an outage)
 *     :max_clock_skew: 60           (scotty: seconds of host clock skew tolerated)
 *     :schedule:
 *       name: {cron|every|interval|at|in: ..., class:, queue:, args:, description:, enabled:}
 * so an operator can reuse the block of Mastodon's config/sidekiq.yml (minus ERB).
 * `every` also takes sidekiq-scheduler's ['5m', {first_in: '4m'}] form. */
#include <stdio.h>

#include "config.h"
#include "config_yaml.h"

#include <stdlib.h>
#include <string.h>

#define SCHEDULE_JSON_DEPTH 32          /* nesting of args/retry values */
#define SCHEDULE_JSON_MAX (1024 * 1024) /* bytes of one args/retry value */

/* Writes a YAML node as JSON: plain scalars that are JSON numbers, booleans or
 * null keep that meaning, everything else is a string. Aliases can make the
 * document a graph with cycles or an exponential tree, so depth and size are
 * bounded: -1 when over either. */
static int schedule_json(yaml_document_t *doc, yaml_node_t *n, base_buf *b, int depth)
{
    if (depth > SCHEDULE_JSON_DEPTH || b->len > SCHEDULE_JSON_MAX)
        return -1;
    if (n->type == YAML_SEQUENCE_NODE) {
        base_buf_add(b, "[", 1);
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start)
                base_buf_add(b, ",", 1);
            if (schedule_json(doc, yaml_document_get_node(doc, *it), b, depth + 1) != 0)
                return -1;
        }
        base_buf_add(b, "]", 1);
        return 0;
    }
    if (n->type == YAML_MAPPING_NODE) {
        base_buf_add(b, "{", 1);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            if (p != n->data.mapping.pairs.start)
                base_buf_add(b, ",", 1);
            const char *k = config_yaml_key(yaml_document_get_node(doc, p->key));
            base_json_string(b, k, strlen(k));
            base_buf_add(b, ":", 1);
            if (schedule_json(doc, yaml_document_get_node(doc, p->value), b, depth + 1) != 0)
                return -1;
        }
        base_buf_add(b, "}", 1);
        return 0;
    }
    const char *v = (const char *)n->data.scalar.value;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        /* Numbers only in JSON's own syntax: strtod also reads .5, 0x1A, inf and nan. */
        json_t *num = json_loads(v, JSON_DECODE_ANY, NULL);
        bool number = json_is_number(num);
        json_decref(num);
        if (number || !strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null")) {
            base_buf_adds(b, v);
            return 0;
        }
        if (!strcmp(v, "~") || !*v) {
            base_buf_adds(b, "null");
            return 0;
        }
    }
    base_json_string(b, v, strlen(v));
    return 0;
}

static int schedule_entry(config *cfg, yaml_document_t *doc, const char *name, yaml_node_t *map,
                          char *err, size_t errlen)
{
    if (map->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "config: schedule %s must be a mapping", name);
        return -1;
    }
    q_schedule *s = &cfg->schedules[cfg->nschedules];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->queue, sizeof s->queue, "default");
    s->enabled = true;
    bool timed = false;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = config_yaml_key(yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        const char *sv = config_yaml_scalar(v);
        if (!strcmp(k, "cron") || !strcmp(k, "every") || !strcmp(k, "interval") ||
            !strcmp(k, "at") || !strcmp(k, "in")) {
            if (v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.top > v->data.sequence.items.start) {
                yaml_node_t *first = yaml_document_get_node(doc, v->data.sequence.items.start[0]);
                sv = config_yaml_scalar(first);
                for (yaml_node_item_t *it = v->data.sequence.items.start + 1; it < v->data.sequence.items.top; it++) {
                    yaml_node_t *opt = yaml_document_get_node(doc, *it);
                    if (opt->type != YAML_MAPPING_NODE)
                        continue;
                    for (yaml_node_pair_t *o = opt->data.mapping.pairs.start; o < opt->data.mapping.pairs.top; o++)
                        if (!strcmp(config_yaml_key(yaml_document_get_node(doc, o->key)), "first_in")) {
                            const char *fi = config_yaml_scalar(yaml_document_get_node(doc, o->value));
                            s->first_in = fi ? q_duration_parse(fi) : -1;
                            if (s->first_in <= 0) {
                                snprintf(err, errlen, "config: schedule %s: first_in is not a duration", name);
                                goto fail;
                            }
                        }
                }
            }
            if (!sv) {
                snprintf(err, errlen, "config: schedule %s: %s needs a value", name, k);
                goto fail;
            }
            q_tz_free(&s->cron.zone); /* a second timing key replaces the first */
            if (q_schedule_set_timing(s, k, sv, err, errlen) != 0)
                goto fail;
            timed = true;
        } else if (!strcmp(k, "class") && sv) {
            snprintf(s->klass, sizeof s->klass, "%s", sv);
        } else if (!strcmp(k, "queue") && sv) {
            snprintf(s->queue, sizeof s->queue, "%s", sv);
        } else if (!strcmp(k, "description") && sv) {
            snprintf(s->description, sizeof s->description, "%s", sv);
        } else if (!strcmp(k, "enabled") && sv) {
            s->enabled = strcmp(sv, "false") != 0;
        } else if (!strcmp(k, "args") || !strcmp(k, "retry")) {
            base_buf b;
            base_buf_init(&b);
            if (!strcmp(k, "args") && v->type != YAML_SEQUENCE_NODE)
                base_buf_add(&b, "[", 1);
            if (schedule_json(doc, v, &b, 0) != 0) {
                base_buf_free(&b);
                snprintf(err, errlen, "config: schedule %s: %s is nested deeper than %d levels or "
                         "larger than %d bytes", name, k, SCHEDULE_JSON_DEPTH, SCHEDULE_JSON_MAX);
                goto fail;
            }
            if (!strcmp(k, "args") && v->type != YAML_SEQUENCE_NODE)
                base_buf_add(&b, "]", 1);
            char **dst = !strcmp(k, "args") ? &s->args_json : &s->retry_json;
            free(*dst);
            *dst = base_buf_take(&b);
        }
    }
    if (!timed || !s->klass[0]) {
        snprintf(err, errlen, "config: schedule %s needs a class and one of cron, every, interval, "
                 "at, in", name);
        goto fail;
    }
    cfg->nschedules++;
    return 0;
fail:
    q_schedule_free(s);
    return -1;
}

int config_schedule_apply(config *cfg, yaml_document_t *doc, yaml_node_t *block, char *err,
                          size_t errlen)
{
    if (block->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "config: :scheduler: must be a mapping");
        return -1;
    }
    for (yaml_node_pair_t *p = block->data.mapping.pairs.start; p < block->data.mapping.pairs.top; p++) {
        const char *k = config_yaml_key(yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        const char *sv = config_yaml_scalar(v);
        if (!strcmp(k, "listened_queues_only") && sv) {
            cfg->listened_queues_only = strcmp(sv, "true") == 0;
        } else if (!strcmp(k, "missed") && sv) {
            if (strcmp(sv, "skip") && strcmp(sv, "once")) {
                snprintf(err, errlen, "config: :missed: must be skip or once");
                return -1;
            }
            cfg->missed = strcmp(sv, "once") == 0 ? Q_MISSED_ONCE : Q_MISSED_SKIP;
        } else if (!strcmp(k, "max_clock_skew") && sv) {
            char *end;
            double skew = strtod(sv, &end);
            if (end == sv || *end || !(skew >= 0 && skew <= 3600)) {
                snprintf(err, errlen, "config: :max_clock_skew: must be a number of seconds from 0 to "
                         "3600 (got '%s')", sv);
                return -1;
            }
            cfg->max_skew = skew;
        } else if (!strcmp(k, "schedule") && v->type == YAML_MAPPING_NODE) {
            size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
            q_schedule *grown = realloc(cfg->schedules, sizeof(q_schedule) * ((size_t)cfg->nschedules + n));
            if (!grown)
                return -1;
            cfg->schedules = grown;
            for (yaml_node_pair_t *e = v->data.mapping.pairs.start; e < v->data.mapping.pairs.top; e++) {
                const char *name = config_yaml_key(yaml_document_get_node(doc, e->key));
                if (schedule_entry(cfg, doc, name, yaml_document_get_node(doc, e->value), err, errlen) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

void config_free(config *cfg)
{
    for (int i = 0; i < cfg->nschedules; i++)
        q_schedule_free(&cfg->schedules[i]);
    free(cfg->schedules);
    cfg->schedules = NULL;
    cfg->nschedules = 0;
}
