/* media_internal.h -- helpers shared by the media library's files; not public. */
#ifndef SCOTTY_MEDIA_INTERNAL_H
#define SCOTTY_MEDIA_INTERNAL_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Writes "<what>: <libav error text>" into err. */
void media_averr(char *err, size_t errlen, int averror, const char *what);

/* The filter chain that turns a picture upright ("transpose=clock", ...), or ""
 * for rotation 0. */
const char *media_rotation_filter(int rotation);

/* Opens hostile input: only local files, only the demuxers of media types
 * Mastodon accepts (no playlists or concat scripts that would read other files
 * or URLs). Same return as avformat_open_input. */
struct AVFormatContext;
int media_open_input(struct AVFormatContext **ic, const char *path);
/* A file with the same bytes at `to`: a hard link where both are on one file
 * system (no new inode, nothing copied), else a byte copy. Every reader only
 * reads it. 0, or -1 with err. */
int media_copy_file(const char *from, const char *to, char *err, size_t errlen);

/* Reads the next packet of ic into pkt: 1, 0 at the end of the input, or -1
 * with err ("reading the input failed (truncated file?): ..."). */
struct AVPacket;
int media_read_packet(struct AVFormatContext *ic, struct AVPacket *pkt, char *err, size_t errlen);

/* Clockwise degrees (0, 90, 180, 270) that turn a stream's pictures upright,
 * from its display matrix, as the ffmpeg CLI's autorotate does. */
struct AVStream;
int media_stream_rotation(const struct AVStream *st);

/* Builds src -> desc -> sink ("buffer"/"abuffer" to "buffersink"/"abuffersink")
 * in a new graph whose slice threads are limited to `threads`. */
struct AVFilterGraph;
struct AVFilterContext;
int media_graph_build(struct AVFilterGraph **graph, struct AVFilterContext **src,
                      struct AVFilterContext **sink, int threads, const char *src_name,
                      const char *src_args, const char *sink_name, const char *desc,
                      char *err, size_t errlen);

/* Encodes an RGB24 picture with a libavcodec image encoder ("png") into one packet:
 * the whole image file. */
struct AVPacket;
struct media_rgb;
int media_encode_image(const struct media_rgb *img, const char *encoder, struct AVPacket *pkt, char *err,
                       size_t errlen);

/* Encoder steps shared by media_video.c and media_audio.c (media_codec.c). */
struct AVCodec;
struct AVCodecContext;
struct AVFrame;
/* Sends f (NULL: flush) to enc and writes every packet it yields to ost of oc,
 * reusing pkt. enc_what and write_what prefix encoder and muxer errors in err. */
int media_encode_write(struct AVCodecContext *enc, struct AVFrame *f, struct AVPacket *pkt,
                       struct AVFormatContext *oc, struct AVStream *ost, const char *enc_what,
                       const char *write_what, char *err, size_t errlen);
/* The encoder's supported sample rate nearest to rate (rate itself if listed),
 * or 0 when the encoder lists none. */
int media_best_sample_rate(const struct AVCodec *codec, int rate);
/* Builds abuffer (dec's samples in ist's time base) -> aresample,aformat (enc's
 * rate, fltp, enc's layout) -> abuffersink with enc's frame size, via
 * media_graph_build. */
int media_audio_graph(struct AVFilterGraph **graph, struct AVFilterContext **src,
                      struct AVFilterContext **sink, int threads, const struct AVCodecContext *dec,
                      const struct AVStream *ist, const struct AVCodecContext *enc, char *err,
                      size_t errlen);
/* A new stream of oc with enc's parameters and time base, or NULL. */
struct AVStream *media_new_encoded_stream(struct AVFormatContext *oc, const struct AVCodecContext *enc);

/* One task's styles (media_styles.c): writes into out_dir and fills result
 * (files, blurhash) and file_meta. */
struct media_vips_info;
typedef struct media_styles_ctx {
    const char *in, *out_dir;
    int threads;
    media_progress_fn progress;
    void *progress_ud;
    const struct media_vips_info *still; /* the libvips header media_vips_probe_still read, or NULL */
} media_styles_ctx;
int media_styles_make(const media_styles_ctx *c, const media_probe *p, media_kind kind, json_t *result,
                      json_t *file_meta, char *err, size_t errlen);

/* Applies the child's own limits before it opens any input: closes inherited
 * descriptors above stderr, dies with its parent, niceness, I/O priority,
 * RLIMIT_AS (budget on top of the current address space) and RLIMIT_CPU, and
 * joins the cgroup directory if one is given. */
typedef struct media_child_limits {
    int nice;
    int ioprio_class, ioprio_level;
    long as_budget_mb;
    long cpu_seconds;
    const char *cgroup_dir;
    int parent;              /* the worker's pid: die with it (0: no) */
    long fsize_mb;           /* RLIMIT_FSIZE: largest file the child may write (0: none) */
    int nofile;              /* RLIMIT_NOFILE: open descriptors (0: keep) */
} media_child_limits;
int media_limits_apply(const media_child_limits *l, char *err, size_t errlen);

/* Per-task cgroup directories with a CPU quota (v2 cpu.max or v1 cfs). */
typedef enum { MEDIA_CG_NONE = 0, MEDIA_CG_V1, MEDIA_CG_V2 } media_cg_mode;
/* Finds a usable cpu hierarchy and creates "<root>/scotty". Returns the mode;
 * on MEDIA_CG_NONE, why is in err. base receives the scotty group's path. */
media_cg_mode media_cgroup_setup(const char *root_hint, char *base, size_t baselen, char *err, size_t errlen);
/* Creates base/<name> with the quota in cores. Returns 0 or -1 with err. */
int media_cgroup_create(media_cg_mode mode, const char *base, const char *name, double cores,
                        char *dir, size_t dirlen, char *err, size_t errlen);
/* Removes a task group (after its process was reaped). */
void media_cgroup_remove(const char *dir);
/* Moves the calling process into dir. */
int media_cgroup_join(const char *dir, char *err, size_t errlen);


/* ---- The task child's sandbox (media_sandbox.c) ---- */
/* Exit status of a child stopped for a call outside its allowlist. */
#define MEDIA_SANDBOX_EXIT 125
/* Moves the calling process into a new, empty network namespace (needs
 * CAP_SYS_ADMIN). Returns 0, or -1 with why. */
int media_sandbox_netns(char *err, size_t errlen);
/* Drops every capability (effective, permitted, inheritable; so the ambient set
 * too): a child of a worker run as root keeps its uid but loses the privileges that
 * would let it read other processes' memory and environment. Returns 0, or -1 with
 * why. */
int media_sandbox_drop_caps(char *err, size_t errlen);
/* Sets no_new_privs and installs the seccomp allowlist. A call outside it ends
 * the process with an "R" line (stage "sandbox") naming the call. Returns 0, or
 * -1 with why (the caller must then not open any input). */
int media_sandbox_seccomp(char *err, size_t errlen);
/* Looks up the system call names the SIGSYS report uses (once; the fork server
 * does it at start so its children need not). */
void media_sandbox_names(void);

/* ---- The fork server (media_forkserver.c) and its control channel ---- */
/* One `scotty-media media-server` per worker, exec'd once. The worker sends
 * START with the task's media-child argv and, as SCM_RIGHTS, the write end of
 * the task's output pipe; the server forks a task child that becomes
 * `media-child` with that argv and its stdout on the pipe, answers STARTED (or
 * DONE with err when fork failed), kills it on KILL, and sends DONE with the
 * wait status and rusage once it has reaped it. The worker's end of the
 * SOCK_SEQPACKET socket closing ends the server and its children. */
enum { MEDIA_SRV_READY = 1, MEDIA_SRV_START, MEDIA_SRV_STARTED, MEDIA_SRV_KILL, MEDIA_SRV_DONE };
#define MEDIA_SRV_FD 3           /* the server's end of the control socket */
#define MEDIA_SRV_TEXT 8192
typedef struct media_srv_msg {
    uint32_t type, id;           /* id: the worker's number for the task */
    int32_t pid;                 /* STARTED: the task child; READY: the server */
    int32_t status;              /* DONE: wait status */
    int32_t err;                 /* DONE: errno when the fork failed, else 0 */
    int32_t netns, seccomp;      /* READY: 1 when active for every task child */
    struct rusage ru;            /* DONE: the task child's */
    char text[MEDIA_SRV_TEXT];   /* START: argv, NUL-separated; READY: why a protection is off */
} media_srv_msg;
/* Bytes of a message to send: the header and the used part of its text. */
size_t media_srv_msg_len(size_t text_len);

/* The worker's end (media_srvlink.c). One task on the server, owned by the
 * thread that submitted it; the fields are written under the link's lock. */
typedef struct media_srv_task {
    uint32_t id;
    bool started, done;
    bool lost;                   /* the server died before it reported the end */
    pid_t pid;
    int status, err;             /* DONE: wait status; errno when the fork failed */
    struct rusage ru;
    struct media_srv_task *next;
} media_srv_task;
typedef struct media_srv media_srv;
/* exe "" = /proc/self/exe; the server's environment is envp (its strings are
 * kept, not copied) and LD_BIND_NOW=1. */
media_srv *media_srv_new(const char *exe, char *const *envp);
/* Starts the server unless it runs. Returns 0, or -1 with err. */
int media_srv_ensure(media_srv *s, char *err, size_t errlen);
/* What the last READY said: network namespace and seccomp active, and why not. */
void media_srv_protections(media_srv *s, bool *netns, bool *seccomp, char *why, size_t whylen);
/* Servers started so far (1 plus restarts). */
unsigned media_srv_starts(media_srv *s);
/* Starts one task child with argv (NULL-terminated, from "media-child") and
 * out_fd as its stdout, (re)starting the server first when needed. Returns 0
 * (t->lost may already be set), or -1 with err when no server could start. */
int media_srv_submit(media_srv *s, media_srv_task *t, const char *const *argv, int out_fd, char *err,
                     size_t errlen);
/* Asks the server to SIGKILL the task child (or every one) unless it ended. */
void media_srv_kill(media_srv *s, const media_srv_task *t);
void media_srv_kill_all(media_srv *s);
/* Waits until t ended or was lost; at the deadline asks for its kill and keeps
 * waiting. Returns true when the deadline hit. */
bool media_srv_wait(media_srv *s, media_srv_task *t, double deadline);
/* Ends the server (its task children die with it) and frees. */
void media_srv_free(media_srv *s);
/* posix_spawn of exe with stdin from /dev/null, stdout to out_fd (-1: /dev/null), fd as
 * fd_as (fd -1: none), every signal unblocked and at its default. 0 or an errno. */
int media_spawn(pid_t *pid, const char *exe, char *const argv[], char *const envp[], int out_fd, int fd,
                int fd_as);

#endif
