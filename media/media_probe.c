/* media_probe.c -- probe a file with libavformat the way Mastodon reads ffprobe's
 * JSON (app/lib/video_metadata_extractor.rb), and name its MIME type and kind. */
#include "media.h"
#include "media_internal.h"

#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The content type Mastodon's MIME sniffing would give, from the demuxer. */
static void probe_content_type(const AVFormatContext *ic, media_probe *p)
{
    const char *name = ic->iformat->name;
    const char *t = "application/octet-stream";
    bool video = p->has_video && !p->cover_art;
    if (strcmp(name, "mov,mp4,m4a,3gp,3g2,mj2") == 0) {
        const AVDictionaryEntry *brand = av_dict_get(ic->metadata, "major_brand", NULL, 0);
        if (brand && strncmp(brand->value, "qt", 2) == 0)
            t = video ? "video/quicktime" : "audio/mp4";
        else
            t = video ? "video/mp4" : "audio/mp4";
    } else if (strcmp(name, "matroska,webm") == 0) {
        t = video ? "video/webm" : "audio/webm";
    } else if (strcmp(name, "ogg") == 0) {
        t = video ? "video/ogg" : "audio/ogg";
    } else if (strcmp(name, "gif") == 0) {
        t = "image/gif";
    } else if (strcmp(name, "png_pipe") == 0 || strcmp(name, "apng") == 0) {
        t = "image/png";
    } else if (strcmp(name, "jpeg_pipe") == 0) {
        t = "image/jpeg";
    } else if (strcmp(name, "webp_pipe") == 0) {
        t = "image/webp";
    } else if (strcmp(name, "image2") == 0 && p->has_video) {
        /* Picked by file extension: name the type by what is inside. */
        if (strcmp(p->video_codec, "mjpeg") == 0)
            t = "image/jpeg";
        else if (strcmp(p->video_codec, "png") == 0)
            t = "image/png";
        else if (strcmp(p->video_codec, "webp") == 0)
            t = "image/webp";
        else if (strcmp(p->video_codec, "gif") == 0)
            t = "image/gif";
    } else if (strcmp(name, "mp3") == 0) {
        t = "audio/mpeg";
    } else if (strcmp(name, "wav") == 0) {
        t = "audio/wave";
    } else if (strcmp(name, "flac") == 0) {
        t = "audio/flac";
    } else if (strcmp(name, "aac") == 0) {
        t = "audio/aac";
    } else if (strcmp(name, "asf") == 0) {
        t = "video/x-ms-asf";
    }
    snprintf(p->content_type, sizeof p->content_type, "%s", t);
}

/* GIFs: count frames (up to 2) the way Mastodon's block parser tells animation. */
static int probe_count_frames(AVFormatContext *ic, int stream)
{
    AVPacket *pkt = av_packet_alloc();
    int frames = 0;
    while (pkt && frames < 2 && av_read_frame(ic, pkt) >= 0) {
        if (pkt->stream_index == stream)
            frames++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return frames;
}

int media_probe_file(const char *path, media_probe *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    AVFormatContext *ic = NULL;
    int rc = media_open_input(&ic, path);
    if (rc < 0) {
        media_averr(err, errlen, rc, "not a readable media file of a type Mastodon accepts (libavformat could not open it)");
        return -1;
    }
    rc = avformat_find_stream_info(ic, NULL);
    if (rc < 0) {
        media_averr(err, errlen, rc, "could not read the stream parameters (truncated or corrupt file?)");
        avformat_close_input(&ic);
        return -1;
    }
    snprintf(p->container, sizeof p->container, "%s", ic->iformat->name);
    struct stat file;
    p->size = stat(path, &file) == 0 ? (int64_t)file.st_size : 0;
    int vidx = -1;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVStream *st = ic->streams[i];
        enum AVMediaType type = st->codecpar->codec_type;
        if (type == AVMEDIA_TYPE_VIDEO && (vidx < 0 || p->cover_art)) {
            bool cover = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
            if (vidx >= 0 && cover)
                continue;
            vidx = (int)i;
            p->cover_art = cover;
        } else if (type == AVMEDIA_TYPE_AUDIO && !p->has_audio) {
            p->has_audio = true;
            snprintf(p->audio_codec, sizeof p->audio_codec, "%s", avcodec_get_name(st->codecpar->codec_id));
        }
    }
    if (vidx >= 0) {
        const AVStream *st = ic->streams[vidx];
        const AVCodecParameters *par = st->codecpar;
        p->has_video = true;
        snprintf(p->video_codec, sizeof p->video_codec, "%s", avcodec_get_name(par->codec_id));
        const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)par->format);
        snprintf(p->pix_fmt, sizeof p->pix_fmt, "%s", pf ? pf : "");
        p->rotation = media_stream_rotation(st);
        bool swap = p->rotation == 90 || p->rotation == 270;
        p->width = swap ? par->height : par->width;
        p->height = swap ? par->width : par->height;
        p->rfps_num = st->r_frame_rate.num;
        p->rfps_den = st->r_frame_rate.den;
        if (st->avg_frame_rate.num && st->avg_frame_rate.den) {
            p->fps_num = st->avg_frame_rate.num;
            p->fps_den = st->avg_frame_rate.den;
        } else {
            p->fps_num = p->rfps_num;
            p->fps_den = p->rfps_den;
        }
    }
    if (ic->duration > 0)
        p->duration = (double)ic->duration / AV_TIME_BASE;
    p->bitrate = ic->bit_rate > 0 ? ic->bit_rate : 0;
    probe_content_type(ic, p);
    p->frames = 1;
    if (strcmp(p->content_type, "image/gif") == 0 && vidx >= 0)
        p->frames = probe_count_frames(ic, vidx);
    avformat_close_input(&ic);
    return 0;
}

json_t *media_probe_json(const media_probe *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "container", json_string(p->container));
    json_object_set_new(o, "content_type", json_string(p->content_type));
    if (p->has_video) {
        char fr[32];
        snprintf(fr, sizeof fr, "%d/%d", p->fps_num, p->fps_den);
        json_object_set_new(o, "video_codec", json_string(p->video_codec));
        json_object_set_new(o, "pix_fmt", json_string(p->pix_fmt));
        json_object_set_new(o, "width", json_integer(p->width));
        json_object_set_new(o, "height", json_integer(p->height));
        json_object_set_new(o, "rotation", json_integer(p->rotation));
        json_object_set_new(o, "frame_rate", json_string(fr));
        json_object_set_new(o, "cover_art", json_boolean(p->cover_art));
    }
    if (p->has_audio)
        json_object_set_new(o, "audio_codec", json_string(p->audio_codec));
    if (p->duration > 0)
        json_object_set_new(o, "duration", json_real(p->duration));
    if (p->bitrate > 0)
        json_object_set_new(o, "bitrate", json_integer(p->bitrate));
    return o;
}

media_kind media_classify(const media_probe *p)
{
    const char *t = p->content_type;
    bool video = p->has_video && !p->cover_art;
    if (strcmp(t, "image/gif") == 0)
        return p->frames >= 2 ? MEDIA_KIND_GIFV : MEDIA_KIND_IMAGE;
    if (strncmp(t, "image/", 6) == 0)
        return p->has_video ? MEDIA_KIND_IMAGE : MEDIA_KIND_UNKNOWN;
    if (strcmp(t, "video/x-ms-asf") == 0) /* one of Mastodon's audio types */
        return p->has_audio ? MEDIA_KIND_AUDIO : MEDIA_KIND_UNKNOWN;
    if (strncmp(t, "video/", 6) == 0 && video)
        return p->has_audio ? MEDIA_KIND_VIDEO : MEDIA_KIND_GIFV;
    if ((strncmp(t, "audio/", 6) == 0 || strncmp(t, "video/", 6) == 0) && p->has_audio)
        return MEDIA_KIND_AUDIO;
    return MEDIA_KIND_UNKNOWN;
}

const char *media_kind_name(media_kind k)
{
    switch (k) {
    case MEDIA_KIND_IMAGE: return "image";
    case MEDIA_KIND_GIFV: return "gifv";
    case MEDIA_KIND_VIDEO: return "video";
    case MEDIA_KIND_AUDIO: return "audio";
    case MEDIA_KIND_UNKNOWN: break;
    }
    return "unknown";
}

static int validate_pixels(const media_probe *p, long long limit, const char *what, const char *limit_desc,
                           char *err, size_t errlen)
{
    long long px = (long long)p->width * p->height;
    if (px <= limit)
        return 0;
    snprintf(err, errlen, "%s is %dx%d (%lld pixels), over Mastodon's limit of %lld pixels (%s)",
             what, p->width, p->height, px, limit, limit_desc);
    return -1;
}

int media_validate(const media_probe *p, media_kind kind, char *err, size_t errlen)
{
    bool gif = strcmp(p->content_type, "image/gif") == 0;
    switch (kind) {
    case MEDIA_KIND_UNKNOWN:
        snprintf(err, errlen, "unsupported media: container '%s' with %s is not an image, video or audio "
                 "type Mastodon accepts", p->container, p->has_video || p->has_audio ? "these streams" : "no streams");
        return -1;
    case MEDIA_KIND_AUDIO:
        break;
    case MEDIA_KIND_IMAGE:
    case MEDIA_KIND_GIFV:
    case MEDIA_KIND_VIDEO:
        break;
    }
    bool image_type = strncmp(p->content_type, "image/", 6) == 0;
    long long limit = image_type ? MEDIA_MAX_IMAGE_BYTES : MEDIA_MAX_FILE_BYTES;
    if (p->size > limit) {
        snprintf(err, errlen, "file is %lld bytes, over Mastodon's limit of %lld MB for %s", (long long)p->size,
                 limit / (1024 * 1024), image_type ? "images" : "video and audio");
        return -1;
    }
    if (kind == MEDIA_KIND_AUDIO)
        return 0;
    if (!p->has_video) {
        snprintf(err, errlen, "no video stream");
        return -1;
    }
    if (p->width <= 0 || p->height <= 0) {
        snprintf(err, errlen, "the picture has no size (%dx%d); the file is corrupt", p->width, p->height);
        return -1;
    }
    if (validate_pixels(p, MEDIA_MAX_IMAGE_PIXELS, "image", "7680x4320", err, errlen) < 0)
        return -1;
    if (gif && validate_pixels(p, MEDIA_MAX_GIF_PIXELS, "GIF", "1280x720", err, errlen) < 0)
        return -1;
    if (kind == MEDIA_KIND_IMAGE)
        return 0;
    if (p->fps_num <= 0 || p->fps_den <= 0) {
        snprintf(err, errlen, "the video stream has no frame rate");
        return -1;
    }
    if (validate_pixels(p, MEDIA_MAX_VIDEO_PIXELS, "video", "3840x2160", err, errlen) < 0)
        return -1;
    long fps = (long)floor((double)p->fps_num / p->fps_den);
    if (fps > MEDIA_MAX_VIDEO_FPS) {
        snprintf(err, errlen, "video frame rate %d/%d (%ld fps) is over Mastodon's limit of %d fps",
                 p->fps_num, p->fps_den, fps, MEDIA_MAX_VIDEO_FPS);
        return -1;
    }
    return 0;
}

int64_t media_video_bitrate(int width, int height, double duration)
{
    int64_t by_pixels = (int64_t)floor((double)width * height * 30 * 0.11);
    double d = duration > 1 ? duration : 1;
    int64_t by_size = (int64_t)floor((double)MEDIA_MAX_FILE_BYTES * 8 / d) - MEDIA_AUDIO_BITRATE;
    return by_pixels < by_size ? by_pixels : by_size;
}

bool media_video_passthrough_ok(const media_probe *p)
{
    bool container = strcmp(p->content_type, "video/mp4") == 0 || strcmp(p->content_type, "video/ogg") == 0;
    bool audio = !p->has_audio || strcmp(p->audio_codec, "aac") == 0;
    bool pix = strcmp(p->pix_fmt, "yuv420p") == 0 || strcmp(p->pix_fmt, "yuvj420p") == 0;
    return container && p->has_video && strcmp(p->video_codec, "h264") == 0 && audio && pix;
}
