/* ingress_delays.c -- Mastodon's waits for ingress and pull work: the ExponentialBackoff
 * concern of its pull workers, and the random delays of follow-up jobs. arc4random is
 * thread-safe and needs no seeding, so nothing here is shared state. */
#include "ingress_internal.h"

#include <stdlib.h>

long ingress_rand_between(long lo, long hi)
{
    return lo + (long)arc4random_uniform((uint32_t)(hi - lo + 1));
}

long ingress_exponential_backoff(int count, const q_result *r, const q_job *job)
{
    (void)r;
    (void)job;
    long spread = 10L * count * count * count * count;
    return 15 + spread + (spread > 0 ? (long)arc4random_uniform((uint32_t)spread) : 0);
}
