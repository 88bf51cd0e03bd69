/* maintenance_register.c -- registers the built-in housekeeping jobs (maintenance.h). */
#include "jobs.h"
#include "maintenance.h"

void jobs_register_maintenance(q_registry *reg)
{
    /* retry: Sidekiq's default; a failed cleanup resumes from its saved position */
    static const q_handler handlers[] = {
        {.klass = "Scotty::MediaCacheCleanup", .run = maint_media_cleanup, .retry = -1},
        {.klass = "Scotty::DeadSetTrim", .run = maint_dead_trim, .retry = -1},
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        q_registry_add(reg, &handlers[i]);
}
