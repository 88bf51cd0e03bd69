/* jobs.h -- the job handlers scotty runs, registered by class name. */
#ifndef SCOTTY_JOBS_H
#define SCOTTY_JOBS_H

#include "queues.h"

/* Scotty::Diag::* jobs (diag.c). */
void jobs_register_diag(q_registry *reg);

#endif
