/* control_internal.h -- declarations shared by the control server's files only. */
#ifndef SCOTTY_CONTROL_INTERNAL_H
#define SCOTTY_CONTROL_INTERNAL_H

#include <sys/types.h>

#include "control.h"

/* control_socket.c */
/* Listening Unix socket at path (mode 0660, group if set). Returns the fd or -1 with err. */
int control_listen_unix(const char *path, const char *group, char *err, size_t errlen);
/* 0 if the peer of fd may use the socket (root, our uid, or in group); -1 with err. */
int control_peer_allowed(int fd, gid_t group, char *err, size_t errlen);
/* Listening TCP socket on a loopback HOST:PORT. Returns the fd or -1 with err. */
int control_listen_tcp(const char *hostport, char *err, size_t errlen);

/* control_http.c */
/* If req holds a complete HTTP request head, returns the malloc'd response
 * (Prometheus text for GET /metrics, an error status otherwise) and its length
 * in *len; NULL while the head is incomplete. */
char *control_http_handle(q_engine *e, q_conn *c, const char *req, size_t reqlen, size_t *len);
/* The response for a request head longer than CONTROL_MAX_LINE. */
char *control_http_too_large(size_t *len);

/* control_schedules.c */
/* The `schedules` reply's array: each schedule with its timing and its last and
 * next firing read over c. NULL with err when Redis cannot be read. */
json_t *control_schedules_json(const q_schedule *s, int n, q_conn *c, char *err, size_t errlen);

#endif
