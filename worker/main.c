/* main.c -- the scotty binary: dispatches to a subcommand or runs the worker. */
#include "config.h"
#include "worker.h"

#include <stdio.h>
#include <string.h>

int db_main(int argc, char **argv);
int cron_main(int argc, char **argv);
int status_main(int argc, char **argv);          /* private_cli.c */
int requeue_private_main(int argc, char **argv); /* private_cli.c */

typedef struct main_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *help;
} main_command;

/* Subcommands; every other invocation runs the worker. */
static const main_command main_commands[] = {
    {"db", db_main, "db init|check: create or verify Mastodon's schema"},
    {"cron", cron_main, "cron 'EXPR' [COUNT]: the next firing times of a cron line"},
    {"status", status_main, "status: every scotty private list in Redis, its process and its jobs"},
    {"requeue-private", requeue_private_main,
     "requeue-private [--force] [--dry-run]: move the private lists back to their queues"},
    {NULL, NULL, NULL},
};

/* scotty --help: the worker's options, then the subcommands. */
static int main_help(void)
{
    config_usage(stdout);
    fputs("\nsubcommands:\n", stdout);
    for (const main_command *c = main_commands; c->name; c++)
        printf("  scotty %s\n", c->help);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return main_help();
    if (argc > 1) {
        for (const main_command *c = main_commands; c->name; c++)
            if (strcmp(argv[1], c->name) == 0)
                return c->run(argc - 1, argv + 1);
    }
    return worker_main(argc, argv);
}
