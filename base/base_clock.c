/* base_clock.c -- the wall clock (epoch seconds, for timestamps other programs read)
 * and the monotonic clock (for durations and deadlines). */
#include "base.h"

#include <time.h>

double base_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double base_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
