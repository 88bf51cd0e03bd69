/* fuzz_config.c -- libFuzzer target for the sidekiq.yml reader (worker/config_yaml.c
 * and its :scheduler: block, worker/config_schedule.c), through config_yaml_apply as
 * `scotty -C FILE` calls it.
 *
 * Input: the file. Properties: no crash, leak or unbounded recursion (aliases may make
 * a YAML document a graph with cycles); an accepted file leaves the settings in their
 * documented ranges, and every schedule read has a class, a timing, and args that
 * jansson parses as an array. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fz_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(fz_path, sizeof fz_path, "/tmp/scotty-fuzz-config-%d.yml", (int)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(fz_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.environment, sizeof cfg.environment, "production");
    cfg.engine.concurrency = 10;
    char err[1024];
    err[0] = '\0';
    if (config_yaml_apply(&cfg, fz_path, err, sizeof err) == 0) {
        const q_engine_cfg *e = &cfg.engine;
        if (e->concurrency < 1 || e->concurrency > 1000 || e->nlabels > 8 || e->timeout < 0)
            abort();
        for (int i = 0; i < cfg.nschedules; i++) {
            const q_schedule *s = &cfg.schedules[i];
            if (!s->klass[0])
                abort();
            if (s->args_json) {
                json_t *a = json_loads(s->args_json, 0, NULL);
                if (!json_is_array(a))
                    abort(); /* args must reach the job as a JSON array */
                json_decref(a);
            }
            if (s->retry_json) {
                json_t *r = json_loads(s->retry_json, JSON_DECODE_ANY, NULL);
                if (!r)
                    abort();
                json_decref(r);
            }
        }
    } else if (!err[0]) {
        abort(); /* a refusal says why */
    }
    /* config_free's work, without linking config.c and the engine it pulls in */
    for (int i = 0; i < cfg.nschedules; i++)
        q_schedule_free(&cfg.schedules[i]);
    free(cfg.schedules);
    return 0;
}
