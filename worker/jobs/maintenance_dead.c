/* maintenance_dead.c -- Scotty::DeadSetTrim [{"dead_max_jobs": N,
 * "dead_timeout_in_seconds": S}]: trims Sidekiq's dead set by age and size with
 * Sidekiq's rules (q_dead_trim), for a schedule to run when no job has died for a
 * while (Sidekiq itself trims only when a job dies). The bounds default to the
 * process's own (:dead_max_jobs:, :dead_timeout_in_seconds:; 10,000 and 180 days). */
#include "maintenance.h"

#include <stdio.h>
#include <string.h>

void maint_dead_trim(q_ctx *ctx, const q_job *job, q_result *r)
{
    const q_retry_cfg *rc = q_ctx_retry(ctx);
    long timeout = rc->dead_timeout;
    long max_jobs = rc->dead_max_jobs;
    json_t *a = json_array_get(job->args, 0);
    if (json_array_size(job->args) > 1 || (a && !json_is_object(a) && !json_is_null(a))) {
        q_fail(r, "ArgumentError", "Scotty::DeadSetTrim: expected no arguments or one hash like "
               "{\"dead_max_jobs\": 10000, \"dead_timeout_in_seconds\": 15552000}");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_is_object(a) ? a : NULL, key, v) {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
        if (strcmp(key, "dead_max_jobs") == 0 && n > 0 && n <= 100000000)
            max_jobs = (long)n;
        else if (strcmp(key, "dead_timeout_in_seconds") == 0 && n > 0)
            timeout = (long)n;
        else {
            q_fail(r, "ArgumentError", "Scotty::DeadSetTrim: argument \"%s\" is not one of dead_max_jobs "
                   "(1..100000000) or dead_timeout_in_seconds (> 0)", key);
            return;
        }
    }
    long by_age = 0, by_size = 0;
    char err[Q_ERRLEN];
    if (q_dead_trim(q_ctx_redis(ctx), base_now(), timeout, (int)max_jobs, &by_age, &by_size, err, sizeof err) != 0) {
        q_fail(r, "Redis::CannotConnectError", "%s", err);
        return;
    }
    base_log(BASE_LOG_INFO, "dead set trimmed: %ld jobs older than %ld s and %ld beyond %ld jobs removed", by_age,
          timeout, by_size, max_jobs);
}
