/* media_internal.h -- helpers shared by the media library's files; not public. */
#ifndef SCOTTY_MEDIA_INTERNAL_H
#define SCOTTY_MEDIA_INTERNAL_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>

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

/* Encodes an RGB24 picture with a libavcodec image encoder ("png", "libwebp";
 * bgra: the encoder wants BGRA) into one packet: the whole image file. */
struct AVPacket;
struct media_rgb;
int media_encode_image(const struct media_rgb *img, const char *encoder, bool bgra, struct AVPacket *pkt,
                       char *err, size_t errlen);

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
typedef struct media_styles_ctx {
    const char *in, *out_dir;
    int threads;
    media_progress_fn progress;
    void *progress_ud;
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

#endif
