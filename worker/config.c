/* config.c -- flags and environment. Flags follow `sidekiq`'s so an operator can
 * swap `bundle exec sidekiq -c 25 -q ingress` for `scotty -c 25 -q ingress`. */
#include <stdio.h>

#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_REDIS_URL = 1000,
    OPT_REDIS_CA,
    OPT_FETCH,
    OPT_PREFETCH,
    OPT_FORWARD_UNKNOWN,
    OPT_SIDEKIQ_VERSION,
    OPT_TIMESTAMPS,
    OPT_RECOVER_THRESHOLD,
    OPT_MAX_JOB_BYTES,
    OPT_MAX_RETRIES,
    OPT_LABEL,
    OPT_POLL_INTERVAL,
    OPT_NO_POLLER,
    OPT_CONTROL,
    OPT_NO_JOB_LOG,
    OPT_CONTROL_GROUP,
    OPT_METRICS_LISTEN,
    OPT_MEDIA_DEFER,
    OPT_MEDIA_CLUSTER_SLOTS,
    OPT_MEDIA_CLUSTER_LEASE,
    OPT_FORWARD_UNHANDLED,
    OPT_LOG_FORMAT,
    OPT_MEDIA_FIRST, /* the config_media_flags, in order */
};

/* Media runner options, handed to media_runner_cfg_set by name. */
static const char *const config_media_flags[] = {
    "media-slots", "media-threads", "media-cpu-quota", "media-timeout", "media-nice",
    "media-memory-mb", "media-cpu-seconds", "media-cgroup-root", "media-exe", "media-fork-server",
};
#define CONFIG_NMEDIA (int)(sizeof config_media_flags / sizeof config_media_flags[0])

static const struct option config_options[] = {
    {"concurrency", required_argument, NULL, 'c'},
    {"queue", required_argument, NULL, 'q'},
    {"timeout", required_argument, NULL, 't'},
    {"tag", required_argument, NULL, 'g'},
    {"environment", required_argument, NULL, 'e'},
    {"config", required_argument, NULL, 'C'},
    {"require", required_argument, NULL, 'r'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {"redis-url", required_argument, NULL, OPT_REDIS_URL},
    {"redis-ca", required_argument, NULL, OPT_REDIS_CA},
    {"fetch", required_argument, NULL, OPT_FETCH},
    {"prefetch", required_argument, NULL, OPT_PREFETCH},
    {"forward-unknown", required_argument, NULL, OPT_FORWARD_UNKNOWN},
    {"sidekiq-version", required_argument, NULL, OPT_SIDEKIQ_VERSION},
    {"timestamps", required_argument, NULL, OPT_TIMESTAMPS},
    {"recover-threshold", required_argument, NULL, OPT_RECOVER_THRESHOLD},
    {"max-job-bytes", required_argument, NULL, OPT_MAX_JOB_BYTES},
    {"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
    {"label", required_argument, NULL, OPT_LABEL},
    {"poll-interval", required_argument, NULL, OPT_POLL_INTERVAL},
    {"no-poller", no_argument, NULL, OPT_NO_POLLER},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"no-job-log", no_argument, NULL, OPT_NO_JOB_LOG},
    {"control-group", required_argument, NULL, OPT_CONTROL_GROUP},
    {"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
    {"media-defer", required_argument, NULL, OPT_MEDIA_DEFER},
    {"media-cluster-slots", required_argument, NULL, OPT_MEDIA_CLUSTER_SLOTS},
    {"media-cluster-lease", required_argument, NULL, OPT_MEDIA_CLUSTER_LEASE},
    {"forward-unhandled", required_argument, NULL, OPT_FORWARD_UNHANDLED},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"media-slots", required_argument, NULL, OPT_MEDIA_FIRST + 0},
    {"media-threads", required_argument, NULL, OPT_MEDIA_FIRST + 1},
    {"media-cpu-quota", required_argument, NULL, OPT_MEDIA_FIRST + 2},
    {"media-timeout", required_argument, NULL, OPT_MEDIA_FIRST + 3},
    {"media-nice", required_argument, NULL, OPT_MEDIA_FIRST + 4},
    {"media-memory-mb", required_argument, NULL, OPT_MEDIA_FIRST + 5},
    {"media-cpu-seconds", required_argument, NULL, OPT_MEDIA_FIRST + 6},
    {"media-cgroup-root", required_argument, NULL, OPT_MEDIA_FIRST + 7},
    {"media-exe", required_argument, NULL, OPT_MEDIA_FIRST + 8},
    {"media-fork-server", required_argument, NULL, OPT_MEDIA_FIRST + 9},
    {NULL, 0, NULL, 0},
};

void config_usage(FILE *out)
{
    fputs("usage: scotty [options]            run the worker\n"
          "       scotty SUBCOMMAND ...       see below\n\n"
          "sidekiq-compatible options:\n"
          "  -c, --concurrency N        processor threads (default: SIDEKIQ_CONCURRENCY, 10)\n"
          "  -q, --queue NAME[,WEIGHT]  queue to work on, repeatable; order = priority\n"
          "  -t, --timeout SECONDS      graceful stop deadline (default 25)\n"
          "  -g, --tag TAG              process tag shown in the Web UI\n"
          "  -e, --environment ENV      selects the config file section (default RAILS_ENV)\n"
          "  -C, --config FILE          sidekiq.yml-style file (:concurrency:, :queues:, ...)\n"
          "  -v, --verbose              debug logging\n"
          "  -V, --version              print the version\n\n"
          "scotty options:\n"
          "  --redis-url URL            redis://, rediss:// or unix:// (default: Mastodon's\n"
          "                             SIDEKIQ_REDIS_* else REDIS_* variables: URL, HOST, SENTINELS)\n"
          "  --redis-ca FILE            CA bundle for rediss:// (default REDIS_TLS_CA_FILE or system)\n"
          "  --fetch reliable|basic     reliable (default): jobs survive a crash; basic: BRPOP\n"
          "  --prefetch N               reliable fetch: jobs held per queue beyond idle threads (default -c/8, at least 2)\n"
          "  --recover-threshold N      crashes a job may cause before it goes dead (default 3)\n"
          "  --max-job-bytes N          bigger jobs go to the dead set unrun (default 16 MiB)\n"
          "  --forward-unknown QUEUE    push jobs of unknown classes unchanged to QUEUE\n"
          "  --sidekiq-version 6|7|8    retry rules and Metrics keys to follow (default: the Ruby\n"
          "                             Sidekiq processes' version in Redis, else 8)\n"
          "  --timestamps float|millis  job timestamps: float seconds (all versions) or ms (8.x)\n"
          "                             (default: ms with Sidekiq 8, float with 6 and 7)\n"
          "  --max-retries N            default retry limit (default 25)\n"
          "  --label LABEL              extra process label, repeatable\n"
          "  --poll-interval SECONDS    average scheduled poll interval (default 5)\n"
          "  --no-poller                do not move due retry/scheduled jobs\n"
          "  --no-job-log               no INFO line per finished job (failures are still logged)\n"
          "  --log-format text|json     log lines as text (default) or one JSON object per line\n"
          "  --control PATH             control socket (default: scotty-TAG.sock in the runtime dir)\n"
          "  --control-group GROUP      members of GROUP may use the control socket too\n"
          "  --metrics-listen HOST:PORT serve Prometheus metrics over HTTP (loopback only)\n\n"
          "media (remote attachments, processed by scotty-media children):\n"
          "  --media-slots N            media tasks at once in this process (default 1)\n"
          "  --media-threads N          threads per media task (default 1)\n"
          "  --media-cpu-quota CORES    CPU quota per task through cgroups, e.g. 0.5 (default none)\n"
          "  --media-timeout SECONDS    wall-clock limit per task (default 1800)\n"
          "  --media-nice N             niceness of media children, 0..19 (default 10)\n"
          "  --media-memory-mb MB       address-space budget per child (default 2048)\n"
          "  --media-cpu-seconds S      CPU time limit per child (default 1800)\n"
          "  --media-cgroup-root DIR    cpu cgroup to create task groups in (default: our own)\n"
          "  --media-exe PATH           the media child binary (default: scotty-media next to scotty)\n"
          "  --media-fork-server on|off on: one scotty-media forks each task child (default);\n"
          "                             off: exec scotty-media once per task\n"
          "  --media-defer QUEUE        fetch attachments in RedownloadMediaWorker jobs on QUEUE\n"
          "                             instead of inline in the ingress job\n"
          "  --media-cluster-slots N    at most N media tasks at once across every scotty on this\n"
          "                             Redis (leases; default: no cluster-wide limit)\n"
          "  --media-cluster-lease S    seconds before a dead holder's cluster slot comes back (30)\n"
          "  --forward-unhandled QUEUE  push ActivityPub::ProcessingWorker jobs whose activity scotty\n"
          "                             does not cover (Follow, Block, ...) unchanged to QUEUE\n",
          out);
}

/* Parses a whole decimal integer in [min, max]. */
static int config_int(const char *s, long min, long max, const char *what, long *out, char *err,
                      size_t errlen)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        snprintf(err, errlen, "%s must be an integer from %ld to %ld (got '%s')", what, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int config_log_format(const char *arg, base_log_format *out, char *err, size_t errlen)
{
    if (strcmp(arg, "text") == 0)
        *out = BASE_LOG_TEXT;
    else if (strcmp(arg, "json") == 0)
        *out = BASE_LOG_JSON;
    else {
        snprintf(err, errlen, "--log-format must be 'text' or 'json' (got '%s')", arg);
        return -1;
    }
    return 0;
}

/* Both Redis endpoints from Mastodon's variables (config_redis.c). */
static int config_env_redis(config *cfg, char *err, size_t errlen)
{
    config_redis sidekiq;
    if (config_redis_env("SIDEKIQ_", &sidekiq, err, errlen) != 0 ||
        config_redis_env("", &cfg->app_redis, err, errlen) != 0)
        return -1;
    cfg->engine.redis = sidekiq.opts;
    memcpy(cfg->redis_from, sidekiq.from, sizeof cfg->redis_from);
    /* The application Redis is Sidekiq's unless SIDEKIQ_REDIS_* name their own. */
    cfg->app_redis_own = !sidekiq.base;
    return 0;
}

static void config_env(config *cfg)
{
    const char *conc = getenv("SIDEKIQ_CONCURRENCY");
    if (!conc || !*conc)
        conc = getenv("RAILS_MAX_THREADS");
    if (conc && atoi(conc) > 0)
        cfg->engine.concurrency = atoi(conc);
    const char *envs[] = {"APP_ENV", "RAILS_ENV", "RACK_ENV"};
    snprintf(cfg->environment, sizeof cfg->environment, "development");
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        const char *v = getenv(envs[i]);
        if (v && *v) {
            snprintf(cfg->environment, sizeof cfg->environment, "%s", v);
            break;
        }
    }
}

/* Applies one flag; returns 0 or -1 with err. */
static int config_flag(config *cfg, int opt, const char *arg, q_order *cli_queues, char *err,
                       size_t errlen)
{
    q_engine_cfg *e = &cfg->engine;
    long v;
    switch (opt) {
    case 'c':
        if (config_int(arg, 1, 1000, "-c (concurrency)", &v, err, errlen))
            return -1;
        e->concurrency = (int)v;
        return 0;
    case 'q':
        return q_order_add(cli_queues, arg, err, errlen);
    case 't':
        if (config_int(arg, 1, 86400, "-t (timeout)", &v, err, errlen))
            return -1;
        e->timeout = (double)v;
        return 0;
    case 'g':
        snprintf(e->tag, sizeof e->tag, "%s", arg);
        return 0;
    case 'r':
        base_log(BASE_LOG_WARN, "-r %s ignored: scotty runs C handlers, not a Rails app", arg);
        return 0;
    case 'v':
        cfg->verbose = true;
        return 0;
    case 'V':
        cfg->show_version = true;
        return 0;
    case 'h':
        cfg->show_help = true;
        return 0;
    case OPT_REDIS_URL:
        snprintf(cfg->redis_from, sizeof cfg->redis_from, "--redis-url");
        return q_redis_parse_url(arg, &e->redis, err, errlen);
    case OPT_REDIS_CA:
        snprintf(e->redis.tls_ca_file, sizeof e->redis.tls_ca_file, "%s", arg);
        return 0;
    case OPT_FETCH:
        if (strcmp(arg, "reliable") == 0)
            e->fetch = Q_FETCH_RELIABLE;
        else if (strcmp(arg, "basic") == 0)
            e->fetch = Q_FETCH_BASIC;
        else {
            snprintf(err, errlen, "--fetch must be 'reliable' or 'basic' (got '%s')", arg);
            return -1;
        }
        return 0;
    case OPT_PREFETCH:
        if (config_int(arg, 1, 10000, "--prefetch", &v, err, errlen))
            return -1;
        e->prefetch = (int)v;
        return 0;
    case OPT_FORWARD_UNKNOWN:
        snprintf(e->forward_unknown, sizeof e->forward_unknown, "%s", arg);
        return 0;
    case OPT_SIDEKIQ_VERSION:
        if (config_int(arg, 6, 8, "--sidekiq-version", &v, err, errlen))
            return -1;
        e->retry.sidekiq_major = (int)v;
        return 0;
    case OPT_TIMESTAMPS:
        if (strcmp(arg, "float") == 0)
            e->retry.ts = Q_TS_FLOAT;
        else if (strcmp(arg, "millis") == 0)
            e->retry.ts = Q_TS_MILLIS;
        else {
            snprintf(err, errlen, "--timestamps must be 'float' or 'millis' (got '%s')", arg);
            return -1;
        }
        e->retry.ts_given = true;
        return 0;
    case OPT_RECOVER_THRESHOLD:
        if (config_int(arg, 1, 1000, "--recover-threshold", &v, err, errlen))
            return -1;
        e->recover_threshold = (int)v;
        return 0;
    case OPT_MAX_JOB_BYTES:
        if (config_int(arg, 1024, 512L << 20, "--max-job-bytes", &v, err, errlen))
            return -1;
        e->max_job_bytes = (size_t)v;
        return 0;
    case OPT_MAX_RETRIES:
        if (config_int(arg, 0, 1000, "--max-retries", &v, err, errlen))
            return -1;
        e->retry.max_retries = (int)v;
        return 0;
    case OPT_LABEL:
        if (e->nlabels == 8) {
            snprintf(err, errlen, "at most 8 --label options");
            return -1;
        }
        snprintf(e->labels[e->nlabels++], sizeof e->labels[0], "%s", arg);
        return 0;
    case OPT_POLL_INTERVAL:
        if (config_int(arg, 1, 3600, "--poll-interval", &v, err, errlen))
            return -1;
        e->poll_interval_fixed = (double)v;
        return 0;
    case OPT_NO_POLLER:
        e->poller = false;
        return 0;
    case OPT_NO_JOB_LOG:
        e->job_log = false;
        return 0;
    case OPT_CONTROL:
        snprintf(cfg->control_path, sizeof cfg->control_path, "%s", arg);
        return 0;
    case OPT_CONTROL_GROUP:
        snprintf(cfg->control_group, sizeof cfg->control_group, "%s", arg);
        return 0;
    case OPT_METRICS_LISTEN:
        snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "%s", arg);
        return 0;
    case OPT_MEDIA_DEFER:
        snprintf(cfg->media_defer, sizeof cfg->media_defer, "%s", arg);
        return 0;
    case OPT_MEDIA_CLUSTER_SLOTS:
        if (config_int(arg, 1, 100000, "--media-cluster-slots", &v, err, errlen))
            return -1;
        cfg->media_cluster_slots = (int)v;
        return 0;
    case OPT_MEDIA_CLUSTER_LEASE:
        if (config_int(arg, 3, 3600, "--media-cluster-lease", &v, err, errlen))
            return -1;
        cfg->media_cluster_lease = (double)v;
        return 0;
    case OPT_FORWARD_UNHANDLED:
        snprintf(cfg->forward_unhandled, sizeof cfg->forward_unhandled, "%s", arg);
        return 0;
    case OPT_LOG_FORMAT:
        return 0; /* applied in the first pass */
    default:
        if (opt >= OPT_MEDIA_FIRST && opt < OPT_MEDIA_FIRST + CONFIG_NMEDIA)
            return media_runner_cfg_set(&cfg->media, config_media_flags[opt - OPT_MEDIA_FIRST], arg, err,
                                        errlen);
        snprintf(err, errlen, "unknown option; run scotty --help");
        return -1;
    }
}

int config_load(config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    q_engine_cfg_defaults(&cfg->engine);
    media_runner_cfg_defaults(&cfg->media);
    cfg->media_cluster_lease = 30;
    config_env(cfg);
    if (config_env_redis(cfg, err, errlen) != 0)
        return -1;

    /* First pass: only what selects the file and its section, and the log format,
     * which applies at once, so every line from here on is in it. */
    int opt;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:q:t:g:e:C:r:vVh", config_options, NULL)) != -1) {
        if (opt == OPT_LOG_FORMAT) {
            if (config_log_format(optarg, &cfg->log_format, err, errlen) != 0)
                return -1;
            base_log_set_format(cfg->log_format);
        } else if (opt == 'C')
            snprintf(cfg->config_file, sizeof cfg->config_file, "%s", optarg);
        else if (opt == 'e')
            snprintf(cfg->environment, sizeof cfg->environment, "%s", optarg);
        else if (opt == '?') {
            snprintf(err, errlen, "unknown or incomplete option '%s'; run scotty --help",
                     argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'; run scotty --help", argv[optind]);
        return -1;
    }
    if (cfg->config_file[0] && config_yaml_apply(cfg, cfg->config_file, err, errlen) != 0)
        return -1;

    q_order cli_queues;
    memset(&cli_queues, 0, sizeof cli_queues);
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:q:t:g:e:C:r:vVh", config_options, NULL)) != -1) {
        if (opt == 'C' || opt == 'e')
            continue;
        if (config_flag(cfg, opt, optarg, &cli_queues, err, errlen) != 0)
            return -1;
    }
    if (cli_queues.nqueues)
        cfg->engine.order = cli_queues; /* -q replaces the file's queues, as in sidekiq */
    if (cfg->engine.order.nqueues == 0)
        q_order_add(&cfg->engine.order, "default", err, errlen);
    if (cfg->app_redis_own && config_redis_same(&cfg->app_redis.opts, &cfg->engine.redis))
        cfg->app_redis_own = false;
    return 0;
}
