/* ingress_stats.c -- counters of ActivityPub::ProcessingWorker outcomes per activity
 * type, for the control socket's stats and the Prometheus metrics. */
#include "ingress.h"
#include "ingress_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Owned by this file; every access holds ingress_stats_mu. */
static pthread_mutex_t ingress_stats_mu = PTHREAD_MUTEX_INITIALIZER;
static ingress_type_stats ingress_stats_rows[INGRESS_STATS_TYPES];
static int ingress_stats_n;

/* The row for `type`, created while there is room, else the "Other" row (the last). */
static ingress_type_stats *ingress_stats_row(const char *type)
{
    for (int i = 0; i < ingress_stats_n; i++)
        if (strcmp(ingress_stats_rows[i].type, type) == 0)
            return &ingress_stats_rows[i];
    if (ingress_stats_n < INGRESS_STATS_TYPES - 1 || strcmp(type, "Other") == 0) {
        if (ingress_stats_n >= INGRESS_STATS_TYPES)
            return &ingress_stats_rows[INGRESS_STATS_TYPES - 1];
        ingress_type_stats *r = &ingress_stats_rows[ingress_stats_n++];
        snprintf(r->type, sizeof r->type, "%s", type);
        return r;
    }
    return ingress_stats_row("Other");
}

void ingress_stats_count(const char *type, ingress_stat_outcome outcome)
{
    char name[48];
    snprintf(name, sizeof name, "%s", type && *type ? type : "Other");
    for (char *p = name; *p; p++) /* printable ASCII only: names end up in metrics labels */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    pthread_mutex_lock(&ingress_stats_mu);
    ingress_type_stats *r = ingress_stats_row(name);
    switch (outcome) {
    case INGRESS_OUT_HANDLED: r->handled++; break;
    case INGRESS_OUT_FORWARDED: r->forwarded++; break;
    case INGRESS_OUT_DROPPED: r->dropped++; break;
    case INGRESS_OUT_FAILED: r->failed++; break;
    case INGRESS_OUT_N: break;
    }
    pthread_mutex_unlock(&ingress_stats_mu);
}

int ingress_stats_snapshot(ingress_type_stats *out, int max)
{
    pthread_mutex_lock(&ingress_stats_mu);
    int n = ingress_stats_n < max ? ingress_stats_n : max;
    memcpy(out, ingress_stats_rows, sizeof *out * (size_t)n);
    pthread_mutex_unlock(&ingress_stats_mu);
    return n;
}
