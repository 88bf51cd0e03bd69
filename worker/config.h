/* config.h -- scotty's settings from flags (sidekiq's), the environment
 * (Mastodon's .env.production names) and an optional sidekiq.yml. */
#ifndef SCOTTY_CONFIG_H
#define SCOTTY_CONFIG_H

#include "config_redis.h"
#include "media.h"
#include "queues.h"

typedef struct config {
    q_engine_cfg engine;
    char redis_from[CONFIG_REDIS_FROM]; /* where engine.redis came from, for the start log */
    config_redis app_redis;   /* REDIS_*: Mastodon's application Redis (locks, feeds) */
    bool app_redis_own;       /* app_redis is another server than engine.redis */
    char environment[64];
    char config_file[512];
    char control_path[256];   /* --control: Unix socket ("" = default path) */
    char control_group[64];   /* --control-group: members may use the socket too */
    char metrics_listen[128]; /* --metrics-listen HOST:PORT ("" = off) */
    q_schedule *schedules;    /* :scheduler: :schedule: entries (config_yaml.c) */
    int nschedules;
    bool listened_queues_only;/* run only schedules whose queue this process works */
    q_missed_policy missed;   /* :missed: skip (default) | once */
    double max_skew;          /* :max_clock_skew: seconds (default 60) */
    media_runner_cfg media;   /* --media-* flags (media_runner_cfg_set names) */
    char media_defer[128];    /* --media-defer QUEUE: fetch attachments there, "" inline */
    int media_cluster_slots;  /* --media-cluster-slots N: media tasks at once in the whole
                               * cluster (Redis leases); 0 = no cluster limit */
    double media_cluster_lease; /* --media-cluster-lease S: a dead holder's slot comes back
                                 * after this long (default 30) */
    char forward_unhandled[128]; /* --forward-unhandled QUEUE: activities scotty does not cover */
    bool verbose;
    base_log_format log_format; /* --log-format text|json (applied by config_load) */
    bool show_version;
    bool show_help;
} config;

/* Fills cfg from defaults < environment < YAML (top, then its environment
 * section) < flags. Returns 0, or -1 with one actionable line in err. */
int config_load(config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *out);
/* --log-format's value: "text" or "json". Returns 0, or -1 with err. */
int config_log_format(const char *arg, base_log_format *out, char *err, size_t errlen);

/* YAML part (config_yaml.c): applies a sidekiq.yml file to cfg. */
int config_yaml_apply(config *cfg, const char *path, char *err, size_t errlen);
void config_free(config *cfg);

#endif
