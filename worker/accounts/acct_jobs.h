/* acct_jobs.h -- ResolveAccountService (acct_resolve.c) and the image workers
 * (acct_images.c) for the pull workers registered in acct_jobs.c. Private to
 * worker/accounts. */
#ifndef SCOTTY_ACCT_JOBS_H
#define SCOTTY_ACCT_JOBS_H

#include "acct_internal.h"

/* ResolveAccountService#call for `handle` ("user@domain"), or for account `account_id`
 * when handle is NULL (as AccountRefreshWorker passes the account). */
acct_outcome acct_resolve(q_ctx *ctx, services *s, const char *handle, int64_t account_id,
                          const char *request_id, ingress_account *out, char *err, size_t errlen);

/* RedownloadAvatarWorker and RedownloadHeaderWorker (acct_images.c). */
void acct_avatar_run(q_ctx *ctx, const q_job *job, q_result *r);
void acct_header_run(q_ctx *ctx, const q_job *job, q_result *r);

#endif
