/* media_config.c -- the media runner's settings: defaults and the operator's
 * `--media-*` options, so the worker's CLI can hand them over by name. */
#include "media.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void media_runner_cfg_defaults(media_runner_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->slots = 1;
    cfg->threads = 1;
    cfg->nice = 10;
    cfg->ioprio_class = 2;
    cfg->ioprio_level = 7;
    cfg->as_budget_mb = 2048;
    cfg->cpu_seconds = 1800;
    cfg->timeout = 1800;
    cfg->fork_server = true;
    cfg->fsize_mb = 512;
    cfg->nofile = 64;
}

static int parse_num(const char *name, const char *value, double min, double max, double *out,
                     char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end || v < min || v > max) {
        snprintf(err, errlen, "--%s: '%s' is not a number between %g and %g", name, value, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int media_runner_cfg_set(media_runner_cfg *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    double v = 0;
    if (strcmp(name, "media-cgroup-root") == 0) {
        snprintf(cfg->cgroup_root, sizeof cfg->cgroup_root, "%s", value);
        return 0;
    }
    if (strcmp(name, "media-exe") == 0) {
        snprintf(cfg->exe, sizeof cfg->exe, "%s", value);
        return 0;
    }
    if (strcmp(name, "media-fork-server") == 0) {
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
            snprintf(err, errlen, "--media-fork-server: '%s' is neither on nor off", value);
            return -1;
        }
        cfg->fork_server = strcmp(value, "on") == 0;
        return 0;
    }
    if (strcmp(name, "media-slots") == 0) {
        if (parse_num(name, value, 1, 256, &v, err, errlen) < 0)
            return -1;
        cfg->slots = (int)v;
    } else if (strcmp(name, "media-threads") == 0) {
        if (parse_num(name, value, 1, 64, &v, err, errlen) < 0)
            return -1;
        cfg->threads = (int)v;
    } else if (strcmp(name, "media-cpu-quota") == 0) {
        if (parse_num(name, value, 0, 1024, &v, err, errlen) < 0)
            return -1;
        cfg->cpu_quota = v;
    } else if (strcmp(name, "media-timeout") == 0) {
        if (parse_num(name, value, 0.1, 86400, &v, err, errlen) < 0)
            return -1;
        cfg->timeout = v;
    } else if (strcmp(name, "media-nice") == 0) {
        if (parse_num(name, value, 0, 19, &v, err, errlen) < 0)
            return -1;
        cfg->nice = (int)v;
    } else if (strcmp(name, "media-memory-mb") == 0) {
        if (parse_num(name, value, 0, 1 << 20, &v, err, errlen) < 0)
            return -1;
        cfg->as_budget_mb = (long)v;
    } else if (strcmp(name, "media-cpu-seconds") == 0) {
        if (parse_num(name, value, 0, 86400, &v, err, errlen) < 0)
            return -1;
        cfg->cpu_seconds = (long)v;
    } else {
        snprintf(err, errlen, "unknown media option --%s (known: media-slots, media-threads, media-cpu-quota, "
                 "media-timeout, media-nice, media-memory-mb, media-cpu-seconds, media-cgroup-root, media-exe, "
                 "media-fork-server)", name);
        return -1;
    }
    return 0;
}
