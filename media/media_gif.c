/* media_gif.c -- GIFs that stay animated (avatars, headers), resized the way
 * Mastodon's LazyThumbnail runs ffmpeg: scale (fit, or fill and crop to a
 * square), split into palettegen (32 colours) and paletteuse (Bayer dither),
 * at most 60 frames a second (later frames on the same 1/60 s tick dropped,
 * as the CLI's -fpsmax with a variable-rate muxer) and 3000 frames, no
 * metadata. */
#include "media_vips.h"
#include "media_internal.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { GIF_MAX_FPS = 60, GIF_MAX_FRAMES = 3000, GIF_PALETTE_COLORS = 32 };

typedef struct gif_job {
    AVFormatContext *ic, *oc;
    AVCodecContext *dec, *enc;
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    AVStream *ist, *ost;
    AVFrame *frame, *filt;
    AVPacket *pkt;
    int64_t last_pts;
    int frames;
    char *err;
    size_t errlen;
} gif_job;

/* The filter LazyThumbnail builds for the target. */
static void gif_filter(int w, int h, int tw, int th, bool crop, char *out, size_t outlen)
{
    char sw[32] = "iw", sh[32] = "ih", side[32] = "'min(iw,ih)'";
    if (tw > 0 && th > 0 && !(w <= tw && h <= th)) {
        double scale = fmin((double)tw / w, (double)th / h);
        long cw = lround(w * scale), ch = lround(h * scale);
        snprintf(sw, sizeof sw, "%ld", cw);
        snprintf(sh, sizeof sh, "%ld", ch);
        snprintf(side, sizeof side, "%ld", cw < ch ? cw : ch);
    }
    if (crop)
        snprintf(out, outlen, "scale=%s:%s:force_original_aspect_ratio=increase,crop=%s:%s,", sw, sh, side, side);
    else
        snprintf(out, outlen, "scale=%s:%s:force_original_aspect_ratio=decrease,", sw, sh);
    size_t n = strlen(out);
    snprintf(out + n, outlen - n, "split[a][b];[a]palettegen=max_colors=%d[p];[b][p]paletteuse=dither=bayer",
             GIF_PALETTE_COLORS);
}

static int gif_open(gif_job *j, const char *in, int threads)
{
    int rc = media_open_input(&j->ic, in);
    if (rc >= 0)
        rc = avformat_find_stream_info(j->ic, NULL);
    if (rc < 0) {
        media_averr(j->err, j->errlen, rc, "cannot read the GIF");
        return -1;
    }
    int idx = av_find_best_stream(j->ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (idx < 0) {
        snprintf(j->err, j->errlen, "no picture in the GIF");
        return -1;
    }
    j->ist = j->ic->streams[idx];
    const AVCodec *codec = avcodec_find_decoder(j->ist->codecpar->codec_id);
    j->dec = codec ? avcodec_alloc_context3(codec) : NULL;
    if (!j->dec || avcodec_parameters_to_context(j->dec, j->ist->codecpar) < 0) {
        snprintf(j->err, j->errlen, "no decoder for the GIF");
        return -1;
    }
    j->dec->thread_count = threads;
    j->dec->pkt_timebase = j->ist->time_base;
    rc = avcodec_open2(j->dec, codec, NULL);
    if (rc < 0) {
        media_averr(j->err, j->errlen, rc, "cannot open the GIF decoder");
        return -1;
    }
    return 0;
}

/* The encoder's time base: 1 / min(input rate, 60). */
static AVRational gif_rate(const AVStream *st)
{
    AVRational r = st->r_frame_rate;
    if (r.num <= 0 || r.den <= 0 || av_cmp_q(r, (AVRational){GIF_MAX_FPS, 1}) > 0)
        r = (AVRational){GIF_MAX_FPS, 1};
    return r;
}

static int gif_open_output(gif_job *j, const char *out, int threads)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_GIF);
    int rc = avformat_alloc_output_context2(&j->oc, NULL, "gif", out);
    j->enc = codec ? avcodec_alloc_context3(codec) : NULL;
    if (rc < 0 || !j->enc) {
        snprintf(j->err, j->errlen, "no GIF encoder or muxer in this FFmpeg build");
        return -1;
    }
    j->enc->width = av_buffersink_get_w(j->sink);
    j->enc->height = av_buffersink_get_h(j->sink);
    j->enc->pix_fmt = (enum AVPixelFormat)av_buffersink_get_format(j->sink);
    j->enc->time_base = av_inv_q(gif_rate(j->ist));
    j->enc->thread_count = threads;
    rc = avcodec_open2(j->enc, codec, NULL);
    if (rc >= 0) {
        j->ost = media_new_encoded_stream(j->oc, j->enc);
        rc = j->ost ? 0 : AVERROR(ENOMEM);
    }
    if (rc >= 0 && !(j->oc->oformat->flags & AVFMT_NOFILE))
        rc = avio_open(&j->oc->pb, out, AVIO_FLAG_WRITE);
    if (rc >= 0)
        rc = avformat_write_header(j->oc, NULL);
    if (rc < 0) {
        media_averr(j->err, j->errlen, rc, "cannot start the GIF output");
        return -1;
    }
    return 0;
}

/* Takes every frame the graph has ready to the encoder (opening the output at
 * the first, when the palette is known). */
static int gif_drain(gif_job *j, const char *out, int threads)
{
    for (;;) {
        int rc = av_buffersink_get_frame(j->sink, j->filt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0) {
            media_averr(j->err, j->errlen, rc, "GIF filtering failed");
            return -1;
        }
        if (!j->oc && gif_open_output(j, out, threads) < 0) {
            av_frame_unref(j->filt);
            return -1;
        }
        int64_t pts = av_rescale_q(j->filt->pts, av_buffersink_get_time_base(j->sink), j->enc->time_base);
        bool keep = j->frames < GIF_MAX_FRAMES && (j->frames == 0 || pts > j->last_pts);
        rc = 0;
        if (keep) {
            j->filt->pts = pts;
            j->last_pts = pts;
            j->frames++;
            rc = media_encode_write(j->enc, j->filt, j->pkt, j->oc, j->ost, "GIF encoding failed",
                                    "writing the GIF failed", j->err, j->errlen);
        }
        av_frame_unref(j->filt);
        if (rc < 0)
            return -1;
    }
}

/* Builds the graph for the first decoded frame's size and format. */
static int gif_graph(gif_job *j, const AVFrame *f, const char *desc, int threads)
{
    char args[256];
    snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=1/1", f->width,
             f->height, f->format, j->ist->time_base.num, j->ist->time_base.den);
    return media_graph_build(&j->graph, &j->src, &j->sink, threads, "buffer", args, "buffersink", desc, j->err,
                             j->errlen);
}

static int gif_push(gif_job *j, AVFrame *f, const char *desc, const char *out, int threads)
{
    if (f && !j->graph && gif_graph(j, f, desc, threads) < 0)
        return -1;
    if (!j->graph)
        return 0;
    if (f)
        f->pts = f->best_effort_timestamp;
    int rc = av_buffersrc_add_frame(j->src, f);
    if (rc < 0) {
        media_averr(j->err, j->errlen, rc, "GIF filtering failed");
        return -1;
    }
    return gif_drain(j, out, threads);
}

static int gif_run(gif_job *j, int w, int h, int tw, int th, bool crop, const char *out, int threads)
{
    char desc[512];
    gif_filter(w, h, tw, th, crop, desc, sizeof desc);
    bool eof = false;
    while (!eof) {
        int rc = media_read_packet(j->ic, j->pkt, j->err, j->errlen);
        if (rc < 0)
            return -1;
        eof = rc == 0;
        if (!eof && j->pkt->stream_index != j->ist->index) {
            av_packet_unref(j->pkt);
            continue;
        }
        rc = avcodec_send_packet(j->dec, eof ? NULL : j->pkt);
        av_packet_unref(j->pkt);
        if (rc < 0 && rc != AVERROR(EAGAIN)) {
            media_averr(j->err, j->errlen, rc, "decoding the GIF failed");
            return -1;
        }
        while ((rc = avcodec_receive_frame(j->dec, j->frame)) >= 0) {
            if (gif_push(j, j->frame, desc, out, threads) < 0)
                return -1;
        }
        if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
            media_averr(j->err, j->errlen, rc, "decoding the GIF failed");
            return -1;
        }
    }
    if (gif_push(j, NULL, desc, out, threads) < 0)
        return -1;
    if (!j->oc) {
        snprintf(j->err, j->errlen, "the GIF has no frame that could be decoded");
        return -1;
    }
    if (media_encode_write(j->enc, NULL, j->pkt, j->oc, j->ost, "GIF encoding failed", "writing the GIF failed",
                           j->err, j->errlen) < 0)
        return -1;
    int rc = av_write_trailer(j->oc);
    if (rc < 0) {
        media_averr(j->err, j->errlen, rc, "finishing the GIF failed");
        return -1;
    }
    return 0;
}

int media_gif_resize(const char *in, int w, int h, int tw, int th, bool crop, const char *out, int threads,
                     char *err, size_t errlen)
{
    gif_job j;
    memset(&j, 0, sizeof j);
    j.err = err;
    j.errlen = errlen;
    j.frame = av_frame_alloc();
    j.filt = av_frame_alloc();
    j.pkt = av_packet_alloc();
    int rc = -1;
    if (!j.frame || !j.filt || !j.pkt)
        snprintf(err, errlen, "out of memory");
    else if (gif_open(&j, in, threads) == 0)
        rc = gif_run(&j, w, h, tw, th, crop, out, threads);
    if (j.oc && !(j.oc->oformat->flags & AVFMT_NOFILE))
        avio_closep(&j.oc->pb);
    avformat_free_context(j.oc);
    avfilter_graph_free(&j.graph);
    avcodec_free_context(&j.enc);
    avcodec_free_context(&j.dec);
    avformat_close_input(&j.ic);
    av_frame_free(&j.frame);
    av_frame_free(&j.filt);
    av_packet_free(&j.pkt);
    return rc;
}
