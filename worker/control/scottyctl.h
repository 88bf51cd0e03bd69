/* scottyctl.h -- the pieces of scottyctl shared between its files. */
#ifndef SCOTTYCTL_H
#define SCOTTYCTL_H

#include <stdio.h>

#include "control.h"

/* Connects to a control socket. Returns the fd or -1 with err. */
int ctl_connect(const char *path, char *err, size_t errlen);
/* Sends one command and reads its reply line; NULL with err on failure. */
json_t *ctl_request(int fd, const char *cmd, char *err, size_t errlen);
/* Prints a reply as human-readable tables (scottyctl_print.c). */
void ctl_print(FILE *out, const char *cmd, const json_t *reply);
/* "12.3s", "4m05s", "2h10m". */
void ctl_duration(double seconds, char *buf, size_t len);
/* A bar of width cells filled to percent, e.g. [#####     ]. */
void ctl_bar(int percent, int width, char *buf, size_t len);
/* The live view (scottyctl_top.c). Returns the exit status. */
int ctl_top(char **paths, int n);

#endif
