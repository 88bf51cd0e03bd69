/* media.h -- the one public header of scotty's media library.
 *
 * What Mastodon's Paperclip/ffmpeg pipeline does to an attachment, done with
 * FFmpeg's libraries: probe, validation with Mastodon's limits, video remux or
 * transcode to H.264/AAC MP4, preview frames, image styles, blurhash, audio to
 * MP3, and file_meta. Hostile input is only ever opened inside a freshly
 * exec'ed child process (`scotty media-child`); the worker side talks to it
 * through media_runner, which applies the CPU caps and the timeout. */
#ifndef SCOTTY_MEDIA_H
#define SCOTTY_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define MEDIA_ERRLEN 512

/* Mastodon's limits (app/models/media_attachment.rb, concerns/attachmentable.rb). */
#define MEDIA_MAX_IMAGE_PIXELS 33177600LL   /* 7680x4320 */
#define MEDIA_MAX_GIF_PIXELS 921600LL       /* 1280x720 */
#define MEDIA_MAX_VIDEO_PIXELS 8294400LL    /* 3840x2160 */
#define MEDIA_MAX_VIDEO_FPS 120
#define MEDIA_MAX_VIDEO_FRAMES 36000
#define MEDIA_MAX_FILE_BYTES (99LL * 1024 * 1024)   /* VIDEO_LIMIT: video, gifv, audio */
#define MEDIA_MAX_IMAGE_BYTES (16LL * 1024 * 1024)  /* IMAGE_LIMIT: images, GIFs included */
#define MEDIA_AUDIO_BITRATE 192000
#define MEDIA_ORIGINAL_PIXELS 8294400LL     /* image style original */
#define MEDIA_SMALL_PIXELS 230400LL         /* image style small, thumbnails */

/* Everything from here to media_child_main opens hostile input with libav:
 * call it only inside the media child, never in the worker process. */

/* ---- Probe (what Mastodon's VideoMetadataExtractor reads from ffprobe) ---- */
typedef struct media_probe {
    char container[64];      /* libavformat demuxer name, e.g. "matroska,webm" */
    char content_type[32];   /* what Mastodon's MIME detection would say */
    char video_codec[32];    /* first video stream; "" when none */
    char audio_codec[32];    /* first audio stream; "" when none */
    char pix_fmt[32];
    bool has_video, has_audio;
    bool cover_art;          /* the only video stream is an attached picture */
    int width, height;       /* display size: swapped when rotated by +-90 degrees */
    int rotation;            /* clockwise degrees to display upright: 0, 90, 180, 270 */
    int fps_num, fps_den;    /* avg_frame_rate, r_frame_rate when avg is 0/0 */
    int rfps_num, rfps_den;  /* r_frame_rate */
    double duration;         /* seconds; 0 when unknown */
    int64_t bitrate;         /* bits/s of the whole file; 0 when unknown */
    int frames;              /* image containers: frames seen, up to 2 (2 = animated) */
    int64_t size;            /* file size in bytes */
} media_probe;

/* Probes a file. Returns 0, or -1 with a reason (not media, truncated, ...). */
int media_probe_file(const char *path, media_probe *out, char *err, size_t errlen);
/* The probe as a JSON object (for results and logs). */
json_t *media_probe_json(const media_probe *p);

/* What an input becomes, following Mastodon's processor chain. */
typedef enum {
    MEDIA_KIND_IMAGE = 0,
    MEDIA_KIND_GIFV,         /* animated GIF or silent video */
    MEDIA_KIND_VIDEO,
    MEDIA_KIND_AUDIO,
    MEDIA_KIND_UNKNOWN
} media_kind;
media_kind media_classify(const media_probe *p);
const char *media_kind_name(media_kind k);   /* Mastodon's type enum names */

/* Checks Mastodon's limits for the kind. Returns 0, or -1 with the precise reason. */
int media_validate(const media_probe *p, media_kind kind, char *err, size_t errlen);

/* ---- Video ---- */
/* Mastodon's -b:v: min(floor(w*h*30*0.11), floor(99MB*8/max(duration,1)) - 192000). */
int64_t media_video_bitrate(int width, int height, double duration);
/* h264 + aac/none + yuv420p/yuvj420p, in an MP4 (not QuickTime) or Ogg container. */
bool media_video_passthrough_ok(const media_probe *p);

typedef void (*media_progress_fn)(void *ud, int percent);

typedef struct media_video_opts {
    int threads;                 /* decoder, encoder and filter graph threads (>= 1) */
    media_progress_fn progress;  /* may be NULL */
    void *progress_ud;
} media_video_opts;

/* Remuxes (passthrough) or transcodes `in` to an MP4 at `out` with Mastodon's
 * options. `passthrough` tells which one happened. Returns 0 or -1 with err. */
int media_video_process(const char *in, const char *out, const media_probe *p,
                        const media_video_opts *o, bool *passthrough, char *err, size_t errlen);

/* ---- Still images ---- */
/* An RGB24 picture in memory. */
typedef struct media_rgb {
    uint8_t *data;
    int width, height, stride;
} media_rgb;
void media_rgb_free(media_rgb *img);

/* Decodes the first frame of any input (video, GIF, image, audio cover art),
 * upright, scaled down to fit max_w x max_h (0: no fit) or to at most
 * max_pixels (0: no limit), as RGB24. */
int media_first_frame(const char *in, int max_w, int max_h, long long max_pixels, int threads,
                      media_rgb *out, char *err, size_t errlen);
/* Writes an RGB24 picture as PNG (video previews, extracted cover art; image
 * styles are libvips' work). */
int media_write_png(const media_rgb *img, const char *path, char *err, size_t errlen);
/* Mastodon's size for a pixel budget: w = round(sqrt(px*W/H)), h = round(sqrt(px*H/W));
 * never upscales. */
void media_fit_pixels(int w, int h, long long max_pixels, int *ow, int *oh);

/* ---- Blurhash (public algorithm, https://blurha.sh) ---- */
/* Encodes x_comp x y_comp components (1..9 each) of an RGB24 picture.
 * out needs 4 + 2 * x_comp * y_comp + 1 bytes. Returns 0 or -1. */
int media_blurhash(const media_rgb *img, int x_comp, int y_comp, char *out, size_t outlen);

/* ---- Thumbnail colours (file_meta.colors) ---- */
typedef struct media_colors {
    char background[8], foreground[8], accent[8];   /* "#rrggbb" */
} media_colors;
/* From a picture already fitted in 100x100, as Mastodon's ColorExtractor.
 * Returns 0, or -1 for an empty picture. */
int media_colors_extract(const media_rgb *img, media_colors *out);

/* ---- Audio ---- */
/* Transcodes to MP3 with LAME VBR quality 2 (Mastodon's -q:a 2), keeping the
 * tags and the cover art (as PNG) as the ffmpeg CLI does. */
int media_audio_process(const char *in, const char *out, const media_probe *p,
                        const media_video_opts *o, char *err, size_t errlen);

/* ---- The child process (`scotty media-child ...`) ---- */
/* Entry point of the hidden subcommand; argv[0] is "media-child". Writes progress
 * lines ("P <percent>") and one result line ("R <json>") to stdout. */
int media_child_main(int argc, char **argv);

/* Test programs only: a task of their own (any name but process/probe), run
 * after the child applied its limits and sandbox, in place of the media work.
 * Returns the result object to emit, or NULL for a task it does not know. */
typedef json_t *(*media_child_hook)(const char *task, const char *in, const char *out_dir);
/* media_child_main with a hook for other task names (NULL: none). */
int media_child_run(int argc, char **argv, media_child_hook hook);

/* ---- The fork server (`scotty-media media-server`) ---- */
/* Entry point of the hidden subcommand the runner execs once per worker: it
 * keeps the libraries loaded and forks one task child per task, which runs
 * media_child_run (with hook) on the argv the worker sent. It never opens any
 * input itself, and stays a single thread so fork is safe. */
int media_server_main(int argc, char **argv, media_child_hook hook);

/* ---- The worker side: spawning children under caps ---- */
typedef struct media_runner_cfg {
    char exe[1024];          /* binary to exec: the worker sets scotty-media; "" = /proc/self/exe */
    int slots;               /* --media-slots: concurrent media tasks in this worker */
    int threads;             /* --media-threads: per task */
    int nice;                /* child niceness, 0..19 */
    int ioprio_class;        /* 0 keep, 1 realtime, 2 best-effort, 3 idle */
    int ioprio_level;        /* 0..7 for best-effort */
    long as_budget_mb;       /* RLIMIT_AS on top of the exec'ed image; 0 = none */
    long cpu_seconds;        /* RLIMIT_CPU; 0 = none */
    double timeout;          /* wall-clock seconds before SIGKILL */
    double cpu_quota;        /* --media-cpu-quota in cores (0.5 = half a core); 0 = none */
    char cgroup_root[512];   /* "" = find this process's own cpu cgroup */
    bool fork_server;        /* --media-fork-server on (default): fork task children from
                              * one scotty-media server; off: exec one child per task */
    long fsize_mb;           /* RLIMIT_FSIZE per child (largest file it may write); 0 = none */
    int nofile;              /* RLIMIT_NOFILE per child; 0 = keep the worker's */
} media_runner_cfg;

/* Defaults: 1 slot, 1 thread, nice 10, best-effort I/O level 7, 2048 MB address
 * space, 1800 CPU-s, 1800 s wall clock (a 5-minute 4K clip on one thread), no
 * CPU quota, fork server on, files up to 512 MB, 64 descriptors. */
void media_runner_cfg_defaults(media_runner_cfg *cfg);
/* Sets one operator option by its flag name without dashes: media-slots,
 * media-threads, media-cpu-quota (cores), media-timeout (s), media-nice,
 * media-memory-mb, media-cpu-seconds, media-cgroup-root, media-exe,
 * media-fork-server (on|off).
 * Returns 0, or -1 with a message naming the option and its range. */
int media_runner_cfg_set(media_runner_cfg *cfg, const char *name, const char *value, char *err, size_t errlen);

typedef struct media_runner media_runner;
/* Checks the configuration and prepares the cgroup (or logs once why not). */
media_runner *media_runner_new(const media_runner_cfg *cfg, char *err, size_t errlen);
void media_runner_free(media_runner *r);
/* "v2", "v1" or "none": how CPU quotas are enforced. */
const char *media_runner_cgroup_mode(const media_runner *r);
/* Starts the fork server once (also with fork_server off, only to learn what
 * this machine permits) and logs which protections every task child gets.
 * Returns 0, or -1 with err when the server cannot be started. Call once, at
 * start, before media_runner_run. */
int media_runner_prepare(media_runner *r, char *err, size_t errlen);
/* The protections of every task child, e.g. "env scrubbed, seccomp allowlist,
 * network namespace, RLIMIT_FSIZE 512 MB, RLIMIT_NOFILE 64, result line <= 1 MiB";
 * "not checked yet" before media_runner_prepare. */
const char *media_runner_sandbox(const media_runner *r);
/* "fork-server" or "exec": how task children are started. */
const char *media_runner_mode(const media_runner *r);

typedef struct media_outcome {
    json_t *result;          /* the child's result object, or NULL; caller json_decref()s */
    double wall_seconds;
    double cpu_user, cpu_sys;/* the child's CPU time, all its threads */
    long max_rss_kb;
    int exit_code;           /* -1 when killed by a signal */
    int term_signal;         /* 0 when it exited */
    bool timed_out;
    bool cancelled;          /* media_runner_stop: killed or never started */
} media_outcome;

/* Runs one task ("process" or "probe") on `in`, writing into `out_dir`. Waits for
 * a free slot first. Returns 0 when the child reported success, else -1 with a
 * message (the child's reason, or how it died). `out` is filled in both cases. */
int media_runner_run(media_runner *r, const char *task, const char *in, const char *out_dir,
                     media_progress_fn progress, void *ud, media_outcome *out,
                     char *err, size_t errlen);
/* Tasks running now, tasks waiting for a slot, and the CPU seconds (user + system) of every
 * finished task so far. */
void media_runner_load(media_runner *r, int *running, int *waiting, double *cpu_seconds);
/* Worker shutdown: kills running children, fails waiting and later tasks
 * ("cancelled"). Safe from any thread; media_runner_run calls return soon. */
void media_runner_stop(media_runner *r);

#endif
