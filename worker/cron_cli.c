/* cron_cli.c -- `scotty cron 'EXPR' [COUNT] [FROM]`: prints the next firing times
 * of a cron line as the scheduler computes them (UTC, one per line), so operators
 * can check a schedule before deploying it. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int cron_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: scotty cron 'CRON LINE' [COUNT] [FROM_EPOCH_SECONDS]\n");
        return 2;
    }
    q_cron c;
    char err[Q_ERRLEN];
    if (q_cron_parse(&c, argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "scotty: %s\n", err);
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 5;
    double t = argc > 3 ? atof(argv[3]) : base_now();
    for (int i = 0; i < count; i++) {
        t = q_cron_next(&c, t);
        if (t <= 0) {
            printf("never\n");
            break;
        }
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char buf[40];
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
        printf("%.0f %s\n", t, buf);
    }
    q_tz_free(&c.zone);
    return 0;
}
