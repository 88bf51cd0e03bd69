/* media_main.c -- the scotty-media binary: the media child that scotty's runner
 * execs for each task (`scotty-media media-child TASK ...`). It is a binary of its
 * own so the worker never maps libav and the codecs it pulls in: with them the
 * worker's resident memory was 41 MB, without them 7 MB. */
#include "media.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "media-child") == 0)
        return media_child_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: scotty-media media-child TASK ... (started by scotty's media runner)\n");
    return 2;
}
