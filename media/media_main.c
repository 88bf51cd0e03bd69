/* media_main.c -- the scotty-media binary. scotty's runner execs it once as the
 * fork server (`scotty-media media-server`), which forks a task child per task,
 * or, with --media-fork-server off, once per task (`scotty-media media-child
 * TASK ...`). It is a binary of its own so the worker never maps libav and the
 * codecs it pulls in: with them the worker's resident memory was 41 MB, without
 * them 7 MB. */
#include "media.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "media-server") == 0)
        return media_server_main(argc - 1, argv + 1, NULL);
    if (argc > 1 && strcmp(argv[1], "media-child") == 0)
        return media_child_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: scotty-media media-server | media-child TASK ... (started by scotty's media runner)\n");
    return 2;
}
