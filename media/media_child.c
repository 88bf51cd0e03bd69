/* media_child.c -- `scotty media-child <task> ...`: one media task in a freshly
 * exec'ed process. It caps itself first (cgroup, nice, ioprio, rlimits), then
 * probes, validates and processes the input the way Mastodon's processor chain
 * does, writing its files into --out-dir. stdout is the channel to the worker:
 * "P <percent>" lines while working, then one "R <json>" line with the result. */
#include "media.h"
#include "media_internal.h"

#include <errno.h>
#include <getopt.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

typedef struct child_args {
    const char *task, *in, *out_dir;
    int threads;
    media_child_limits limits;
} child_args;

static double child_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double child_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void child_progress(void *ud, int percent)
{
    (void)ud;
    printf("P %d\n", percent);
    fflush(stdout);
}

static int child_emit(json_t *result)
{
    char *s = json_dumps(result, JSON_COMPACT);
    printf("R %s\n", s ? s : "{\"ok\":false,\"error\":\"out of memory\"}");
    fflush(stdout);
    free(s);
    bool ok = json_is_true(json_object_get(result, "ok"));
    json_decref(result);
    return ok ? 0 : 1;
}

static int child_fail(const char *stage, const char *msg)
{
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_false());
    json_object_set_new(r, "stage", json_string(stage));
    json_object_set_new(r, "error", json_string(msg));
    return child_emit(r);
}

/* {width, height, size: "WxH", aspect} as Mastodon writes for images and `small`. */
static json_t *meta_geometry(int w, int h)
{
    char size[48];
    snprintf(size, sizeof size, "%dx%d", w, h);
    json_t *o = json_object();
    json_object_set_new(o, "width", json_integer(w));
    json_object_set_new(o, "height", json_integer(h));
    json_object_set_new(o, "size", json_string(size));
    json_object_set_new(o, "aspect", json_real((double)w / h));
    return o;
}

/* {width, height, frame_rate, duration, bitrate} of a processed video/audio file. */
static json_t *meta_av(const media_probe *p)
{
    json_t *o = json_object();
    if (p->has_video && !p->cover_art) {
        char fr[32];
        snprintf(fr, sizeof fr, "%d/%d", p->fps_num, p->fps_den);
        json_object_set_new(o, "width", json_integer(p->width));
        json_object_set_new(o, "height", json_integer(p->height));
        json_object_set_new(o, "frame_rate", json_string(fr));
    }
    if (p->duration > 0)
        json_object_set_new(o, "duration", json_real(p->duration));
    if (p->bitrate > 0)
        json_object_set_new(o, "bitrate", json_integer(p->bitrate));
    return o;
}

static json_t *file_entry(const char *path, const char *content_type, const char *ext)
{
    struct stat st;
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "content_type", json_string(content_type));
    json_object_set_new(o, "extension", json_string(ext));
    json_object_set_new(o, "size", json_integer(stat(path, &st) == 0 ? (json_int_t)st.st_size : 0));
    return o;
}

/* The formats a resized style is written in: the input's own, PNG otherwise. */
typedef enum { STILL_PNG = 0, STILL_JPEG, STILL_WEBP } still_fmt;
static const char *const still_ext[] = {"png", "jpeg", "webp"};
static const char *const still_type[] = {"image/png", "image/jpeg", "image/webp"};

static still_fmt still_format_for(const char *content_type)
{
    if (strcmp(content_type, "image/jpeg") == 0)
        return STILL_JPEG;
    if (strcmp(content_type, "image/webp") == 0)
        return STILL_WEBP;
    return STILL_PNG;
}

static int still_write(const media_rgb *img, still_fmt fmt, const char *path, char *err, size_t errlen)
{
    if (fmt == STILL_JPEG)
        return media_write_jpeg(img, path, 90, err, errlen);
    if (fmt == STILL_WEBP)
        return media_write_webp(img, path, err, errlen);
    return media_write_png(img, path, err, errlen);
}

/* Blurhash 4x4 of a style file, from a copy 100 px wide (Mastodon's input size). */
static void add_blurhash(const char *path, json_t *result)
{
    media_rgb hb;
    char hash[64], err[MEDIA_ERRLEN];
    if (media_first_frame(path, 100, 1 << 20, 0, 1, &hb, err, sizeof err) == 0 &&
        media_blurhash(&hb, 4, 4, hash, sizeof hash) == 0)
        json_object_set_new(result, "blurhash", json_string(hash));
    media_rgb_free(&hb);
}

/* Writes a still (small style or thumbnail) and its blurhash. */
static int write_still(const child_args *a, const char *src, int max_w, int max_h, long long max_px,
                       still_fmt fmt, const char *name, json_t *result, const char *key, json_t *meta,
                       char *err, size_t errlen)
{
    media_rgb img;
    if (media_first_frame(src, max_w, max_h, max_px, a->threads, &img, err, errlen) < 0)
        return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", a->out_dir, name, still_ext[fmt]);
    int rc = still_write(&img, fmt, path, err, errlen);
    if (rc == 0) {
        json_object_set_new(result, key, file_entry(path, still_type[fmt], still_ext[fmt]));
        json_object_set_new(meta, "small", meta_geometry(img.width, img.height));
        add_blurhash(path, result);
    }
    media_rgb_free(&img);
    return rc;
}

static int process_video(const child_args *a, const media_probe *p, json_t *result,
                         json_t *meta, char *err, size_t errlen)
{
    char out[1200];
    snprintf(out, sizeof out, "%s/original.mp4", a->out_dir);
    media_video_opts o = {a->threads, child_progress, NULL};
    bool passthrough = false;
    if (media_video_process(a->in, out, p, &o, &passthrough, err, errlen) < 0)
        return -1;
    media_probe op;
    if (media_probe_file(out, &op, err, errlen) < 0)
        return -1;
    json_t *orig = file_entry(out, "video/mp4", "mp4");
    json_object_set_new(orig, "passthrough", json_boolean(passthrough));
    json_object_set_new(result, "original", orig);
    json_object_set_new(meta, "original", meta_av(&op));
    return write_still(a, a->in, 640, 640, 0, STILL_PNG, "small", result, "small", meta, err, errlen);
}

static const char *image_ext(const char *content_type)
{
    if (strcmp(content_type, "image/jpeg") == 0)
        return "jpeg";
    if (strcmp(content_type, "image/png") == 0)
        return "png";
    if (strcmp(content_type, "image/gif") == 0)
        return "gif";
    if (strcmp(content_type, "image/webp") == 0)
        return "webp";
    return "bin";
}

static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "cannot copy %s to %s", from, to);
    return rc;
}

/* Images: the original is kept when within 8.3 MP (remote media are not
 * re-encoded), else resized; small is 230,400 px in the input's format (JPEG at
 * quality 90), PNG for formats libvips would not write. Static GIFs are kept
 * unchanged for every style, as Mastodon's GifTranscoder does. */
static int process_image(const child_args *a, const media_probe *p, json_t *result, json_t *meta,
                         char *err, size_t errlen)
{
    still_fmt fmt = still_format_for(p->content_type);
    char out[1200];
    int w = p->width, h = p->height;
    const char *ext = image_ext(p->content_type);
    if ((long long)w * h <= MEDIA_ORIGINAL_PIXELS) {
        snprintf(out, sizeof out, "%s/original.%s", a->out_dir, ext);
        if (copy_file(a->in, out, err, errlen) < 0)
            return -1;
        json_object_set_new(result, "original", file_entry(out, p->content_type, ext));
    } else {
        media_rgb img;
        if (media_first_frame(a->in, 0, 0, MEDIA_ORIGINAL_PIXELS, a->threads, &img, err, errlen) < 0)
            return -1;
        snprintf(out, sizeof out, "%s/original.%s", a->out_dir, still_ext[fmt]);
        int rc = still_write(&img, fmt, out, err, errlen);
        w = img.width;
        h = img.height;
        media_rgb_free(&img);
        if (rc < 0)
            return -1;
        json_object_set_new(result, "original", file_entry(out, still_type[fmt], still_ext[fmt]));
    }
    json_object_set_new(meta, "original", meta_geometry(w, h));
    if (strcmp(p->content_type, "image/gif") == 0) {
        char small[1200];
        snprintf(small, sizeof small, "%s/small.gif", a->out_dir);
        if (copy_file(a->in, small, err, errlen) < 0)
            return -1;
        json_object_set_new(result, "small", file_entry(small, "image/gif", "gif"));
        json_object_set_new(meta, "small", meta_geometry(w, h));
        add_blurhash(small, result);
        return 0;
    }
    return write_still(a, a->in, 0, 0, MEDIA_SMALL_PIXELS, fmt, "small", result, "small", meta, err, errlen);
}

static int process_audio(const child_args *a, const media_probe *p, json_t *result, json_t *meta,
                         char *err, size_t errlen)
{
    char out[1200];
    snprintf(out, sizeof out, "%s/original.mp3", a->out_dir);
    media_video_opts o = {a->threads, child_progress, NULL};
    if (media_audio_process(a->in, out, p, &o, err, errlen) < 0)
        return -1;
    media_probe op;
    if (media_probe_file(out, &op, err, errlen) < 0)
        return -1;
    json_object_set_new(result, "original", file_entry(out, "audio/mpeg", "mp3"));
    json_object_set_new(meta, "original", meta_av(&op));
    if (!p->cover_art)
        return 0;
    /* Cover art becomes the attachment's thumbnail (230,400 px, PNG, blurhash). */
    json_t *tmeta = json_object();
    int rc = write_still(a, a->in, 0, 0, MEDIA_SMALL_PIXELS, STILL_PNG, "thumbnail", result, "thumbnail", tmeta,
                         err, errlen);
    json_object_set(meta, "small", json_object_get(tmeta, "small"));
    json_decref(tmeta);
    return rc;
}

static int child_parse(int argc, char **argv, child_args *a)
{
    static const struct option opts[] = {
        {"in", required_argument, NULL, 'i'},       {"out-dir", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'},  {"nice", required_argument, NULL, 'n'},
        {"ioprio-class", required_argument, NULL, 'c'}, {"ioprio-level", required_argument, NULL, 'l'},
        {"as-budget-mb", required_argument, NULL, 'm'}, {"cpu-seconds", required_argument, NULL, 's'},
        {"cgroup", required_argument, NULL, 'g'},   {"parent", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->threads = 1;
    if (argc < 2)
        return -1;
    a->task = argv[1];
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': a->in = optarg; break;
        case 'o': a->out_dir = optarg; break;
        case 't': a->threads = atoi(optarg); break;
        case 'n': a->limits.nice = atoi(optarg); break;
        case 'c': a->limits.ioprio_class = atoi(optarg); break;
        case 'l': a->limits.ioprio_level = atoi(optarg); break;
        case 'm': a->limits.as_budget_mb = atol(optarg); break;
        case 's': a->limits.cpu_seconds = atol(optarg); break;
        case 'g': a->limits.cgroup_dir = optarg; break;
        case 'p': a->limits.parent = atoi(optarg); break;
        default: return -1;
        }
    }
    if (a->threads < 1)
        a->threads = 1;
    if (!a->in || (strcmp(a->task, "process") == 0 && !a->out_dir))
        return -1;
    return strcmp(a->task, "process") == 0 || strcmp(a->task, "probe") == 0 ? 0 : -1;
}

int media_child_main(int argc, char **argv)
{
    child_args a;
    if (child_parse(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: %s {process|probe} --in FILE [--out-dir DIR] [--threads N] [--nice N]\n"
                        "       [--ioprio-class C --ioprio-level L] [--as-budget-mb MB] [--cpu-seconds S]"
                        " [--cgroup DIR] [--parent PID]\n", argv[0]);
        return 2;
    }
    char err[MEDIA_ERRLEN] = "";
    if (media_limits_apply(&a.limits, err, sizeof err) < 0)
        return child_fail("limits", err);
    double t0 = child_now(), c0 = child_cpu();
    av_log_set_level(AV_LOG_FATAL);
    media_probe p;
    if (media_probe_file(a.in, &p, err, sizeof err) < 0)
        return child_fail("probe", err);
    media_kind kind = media_classify(&p);
    json_t *result = json_object();
    json_object_set_new(result, "probe", media_probe_json(&p));
    json_object_set_new(result, "type", json_string(media_kind_name(kind)));
    if (strcmp(a.task, "probe") == 0) {
        json_object_set_new(result, "ok", json_true());
        return child_emit(result);
    }
    const char *stage = "validate";
    int rc = media_validate(&p, kind, err, sizeof err);
    if (rc == 0 && mkdir(a.out_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, sizeof err, "cannot create the output directory %s: %s", a.out_dir, strerror(errno));
        stage = "output";
        rc = -1;
    }
    if (rc == 0)
        stage = "process";
    json_t *meta = json_object();
    if (rc == 0) {
        if (kind == MEDIA_KIND_VIDEO || kind == MEDIA_KIND_GIFV)
            rc = process_video(&a, &p, result, meta, err, sizeof err);
        else if (kind == MEDIA_KIND_AUDIO)
            rc = process_audio(&a, &p, result, meta, err, sizeof err);
        else
            rc = process_image(&a, &p, result, meta, err, sizeof err);
    }
    json_object_set_new(result, "file_meta", meta);
    json_object_set_new(result, "ok", json_boolean(rc == 0));
    if (rc < 0) {
        json_object_set_new(result, "stage", json_string(stage));
        json_object_set_new(result, "error", json_string(err));
    }
    json_object_set_new(result, "cpu_seconds", json_real(child_cpu() - c0));
    json_object_set_new(result, "wall_seconds", json_real(child_now() - t0));
    return child_emit(result);
}
