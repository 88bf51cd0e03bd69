/* control.h -- scotty's operator interface: the control socket (line-delimited
 * JSON, see PROTOCOL.md), the optional loopback HTTP /metrics listener, and the
 * pieces scottyctl shares with the server (socket paths, Prometheus text). */
#ifndef SCOTTY_CONTROL_H
#define SCOTTY_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "queues.h"

#define CONTROL_MAX_LINE 4096      /* longest request line, newline included */
#define CONTROL_MAX_CLIENTS 32     /* connections served at once (socket and HTTP) */
#define CONTROL_CLIENT_TIMEOUT 5.0 /* seconds a client may stay silent or unread */
#define CONTROL_MAX_PENDING 262144 /* reply bytes queued for a client before its input waits */

typedef struct control_opts {
    const char *path;          /* socket path; "" or NULL: control_default_path() */
    const char *group;         /* members may use the socket too; "" or NULL: none */
    const char *metrics_listen;/* HOST:PORT for HTTP GET /metrics on loopback; "" or NULL: off */
    const q_schedule *schedules; /* this process's schedules, for `schedules` (borrowed: they
                                  * outlive the server) */
    int nschedules;
} control_opts;

typedef struct control_server control_server;

/* Creates the socket (replacing a stale one, refusing a live one) and starts the
 * serving thread. Returns NULL with an actionable message in err. */
control_server *control_start(q_engine *e, const control_opts *o, char *err, size_t errlen);
/* Stops the thread, closes every client and removes the socket file. NULL is fine. */
void control_stop(control_server *s);

/* ---- Paths (control_path.c), shared with scottyctl ---- */
/* The directory sockets live in by default: $RUNTIME_DIRECTORY, else
 * $XDG_RUNTIME_DIR, else /run/scotty as root, else /tmp/scotty-<uid>. */
void control_default_dir(char *buf, size_t len);
/* <dir>/scotty-<tag>.sock, or scotty-<pid>.sock without a tag. */
void control_default_path(const char *tag, char *buf, size_t len);
/* Every scotty-*.sock in the default directory, /run/scotty and /tmp/scotty-<uid>
 * (only the first when $RUNTIME_DIRECTORY names it), deduplicated and sorted.
 * Returns a malloc'd array of malloc'd strings; free with control_paths_free. */
char **control_find_sockets(int *n);
void control_paths_free(char **paths, int n);

/* ---- Prometheus text (control_metrics.c) ---- */
/* Appends the exposition for this process; queue numbers are read over c. */
void control_metrics(q_engine *e, q_conn *c, base_buf *out);

/* ---- Replies (control_cmds.c) ---- */
/* Runs one request line (without its newline) and returns the malloc'd JSON
 * reply line, newline included. Queue numbers are read over c; o gives the
 * schedules. *malformed is set when the line was not a request at all (the
 * client is then dropped). */
char *control_handle(q_engine *e, q_conn *c, const control_opts *o, const char *line, size_t len,
                     bool *malformed);

#endif
