/* storage_cli.c -- test driver standing in for the scotty binary's `db`
 * subcommand (the same db_main), so storage tests do not depend on the rest of
 * the worker linking. */
#include "storage.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "db") == 0)
        return db_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: %s db init|check\n", argv[0]);
    return 2;
}
