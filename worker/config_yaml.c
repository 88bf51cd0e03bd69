/* config_yaml.c -- reads a sidekiq.yml: :concurrency:, :queues: (names, [name,
 * weight] pairs or "name,weight" strings), :timeout:, :tag:, :labels:,
 * :max_retries:, :dead_max_jobs:, :dead_timeout_in_seconds:, the poll interval
 * keys, then the same keys again from the section named after the environment.
 * Keys may be written with or without Ruby's symbol colons. ERB is refused.
 * The :scheduler: block: config_schedule.c. */
#include <stdio.h>

#include "config.h"
#include "config_yaml.h"

#include <stdlib.h>
#include <string.h>

const char *config_yaml_key(yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return "";
    const char *k = (const char *)n->data.scalar.value;
    return *k == ':' ? k + 1 : k;
}

const char *config_yaml_scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int yaml_number(yaml_node_t *v, const char *key, long min, long max, long *out, char *err,
                       size_t errlen)
{
    const char *s = config_yaml_scalar(v);
    char *end;
    long x = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || x < min || x > max) {
        snprintf(err, errlen, "config: :%s: must be an integer from %ld to %ld", key, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

static int yaml_queues(yaml_document_t *doc, yaml_node_t *v, q_order *order, char *err,
                       size_t errlen)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        snprintf(err, errlen, "config: :queues: must be a list");
        return -1;
    }
    memset(order, 0, sizeof *order);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *q = yaml_document_get_node(doc, *it);
        char spec[200];
        if (q->type == YAML_SEQUENCE_NODE && q->data.sequence.items.top - q->data.sequence.items.start == 2) {
            const char *name = config_yaml_scalar(yaml_document_get_node(doc, q->data.sequence.items.start[0]));
            const char *w = config_yaml_scalar(yaml_document_get_node(doc, q->data.sequence.items.start[1]));
            if (!name || !w) {
                snprintf(err, errlen, "config: a :queues: entry must be NAME or [NAME, WEIGHT]");
                return -1;
            }
            snprintf(spec, sizeof spec, "%s,%s", name, w);
        } else if (config_yaml_scalar(q)) {
            snprintf(spec, sizeof spec, "%s", config_yaml_scalar(q));
        } else {
            snprintf(err, errlen, "config: a :queues: entry must be NAME or [NAME, WEIGHT]");
            return -1;
        }
        if (q_order_add(order, spec, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Applies the keys of one mapping; recurses once into the environment section. */
static int yaml_apply_map(config *cfg, yaml_document_t *doc, yaml_node_t *map, bool top,
                          char *err, size_t errlen)
{
    q_engine_cfg *e = &cfg->engine;
    yaml_node_t *section = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = config_yaml_key(yaml_document_get_node(doc, p->key));
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        long n;
        if (strcmp(k, "concurrency") == 0) {
            if (yaml_number(v, k, 1, 1000, &n, err, errlen))
                return -1;
            e->concurrency = (int)n;
        } else if (strcmp(k, "timeout") == 0) {
            if (yaml_number(v, k, 1, 86400, &n, err, errlen))
                return -1;
            e->timeout = (double)n;
        } else if (strcmp(k, "max_retries") == 0) {
            if (yaml_number(v, k, 0, 1000, &n, err, errlen))
                return -1;
            e->retry.max_retries = (int)n;
        } else if (strcmp(k, "dead_max_jobs") == 0) {
            if (yaml_number(v, k, 1, 100000000, &n, err, errlen))
                return -1;
            e->retry.dead_max_jobs = (int)n;
        } else if (strcmp(k, "dead_timeout_in_seconds") == 0) {
            if (yaml_number(v, k, 1, 100000000000L, &n, err, errlen))
                return -1;
            e->retry.dead_timeout = n;
        } else if (strcmp(k, "average_scheduled_poll_interval") == 0) {
            if (yaml_number(v, k, 1, 3600, &n, err, errlen))
                return -1;
            e->poll_interval = (double)n;
        } else if (strcmp(k, "poll_interval_average") == 0) {
            if (yaml_number(v, k, 1, 3600, &n, err, errlen))
                return -1;
            e->poll_interval_fixed = (double)n;
        } else if (strcmp(k, "tag") == 0 && config_yaml_scalar(v)) {
            snprintf(e->tag, sizeof e->tag, "%s", config_yaml_scalar(v));
        } else if (strcmp(k, "labels") == 0 && v->type == YAML_SEQUENCE_NODE) {
            e->nlabels = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top && e->nlabels < 8; it++) {
                const char *l = config_yaml_scalar(yaml_document_get_node(doc, *it));
                if (l)
                    snprintf(e->labels[e->nlabels++], sizeof e->labels[0], "%s", l);
            }
        } else if (strcmp(k, "queues") == 0) {
            if (yaml_queues(doc, v, &e->order, err, errlen) != 0)
                return -1;
        } else if (top && strcmp(k, "scheduler") == 0) {
            if (config_schedule_apply(cfg, doc, v, err, errlen) != 0)
                return -1;
        } else if (top && strcmp(k, cfg->environment) == 0 && v->type == YAML_MAPPING_NODE) {
            section = v;
        }
    }
    return section ? yaml_apply_map(cfg, doc, section, false, err, errlen) : 0;
}

int config_yaml_apply(config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %m", path);
        return -1;
    }
    char probe[65536];
    size_t n = fread(probe, 1, sizeof probe - 1, f);
    probe[n] = '\0';
    if (strstr(probe, "<%")) {
        fclose(f);
        snprintf(err, errlen, "config file %s contains ERB (<%% ... %%>), which scotty does not run; "
                 "replace those expressions with plain values", path);
        return -1;
    }
    rewind(f);
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "config file %s is not valid YAML: %s at line %zu", path,
                 parser.problem ? parser.problem : "parse error", parser.problem_mark.line + 1);
        rc = -1;
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE)
            rc = yaml_apply_map(cfg, &doc, root, true, err, errlen);
        else if (root) {
            snprintf(err, errlen, "config file %s must be a mapping of :key: value", path);
            rc = -1;
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
