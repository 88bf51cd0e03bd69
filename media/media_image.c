/* media_image.c -- still pictures from libav: the first frame of any input
 * (video, GIF, audio cover art), upright and fitted (Mastodon's 640x640 video
 * preview, the cover art ffmpeg extracts), written as PNG with libavcodec.
 * Image files themselves go through libvips (media_vips.c). */
#include "media.h"
#include "media_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>

void media_rgb_free(media_rgb *img)
{
    free(img->data);
    memset(img, 0, sizeof *img);
}

void media_fit_pixels(int w, int h, long long max_pixels, int *ow, int *oh)
{
    *ow = w;
    *oh = h;
    if (max_pixels <= 0 || (long long)w * h <= max_pixels)
        return;
    *ow = (int)lround(sqrt((double)max_pixels * w / h));
    *oh = (int)lround(sqrt((double)max_pixels * h / w));
    if (*ow < 1)
        *ow = 1;
    if (*oh < 1)
        *oh = 1;
}

/* scale='min(W,iw)':'min(H,ih)':force_original_aspect_ratio=decrease */
static void fit_box(int w, int h, int max_w, int max_h, int *ow, int *oh)
{
    int bw = w < max_w ? w : max_w, bh = h < max_h ? h : max_h;
    int tw = (int)av_rescale(bh, w, h), th = (int)av_rescale(bw, h, w);
    *ow = tw < bw ? tw : bw;
    *oh = th < bh ? th : bh;
    if (*ow < 1)
        *ow = 1;
    if (*oh < 1)
        *oh = 1;
}

/* Reads packets of stream `idx` until the decoder yields one frame. */
static int decode_first(AVFormatContext *ic, int idx, AVCodecContext *dec, AVFrame *frame,
                        char *err, size_t errlen)
{
    AVPacket *pkt = av_packet_alloc();
    int rc = AVERROR(EAGAIN);
    bool eof = false;
    while (pkt && rc == AVERROR(EAGAIN)) {
        if (!eof) {
            int r = av_read_frame(ic, pkt);
            if (r < 0) {
                eof = true;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == idx)
                    avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
        }
        rc = avcodec_receive_frame(dec, frame);
        if (rc == AVERROR(EAGAIN) && eof)
            rc = AVERROR_EOF;
    }
    av_packet_free(&pkt);
    if (rc < 0) {
        media_averr(err, errlen, rc, "no picture could be decoded");
        return -1;
    }
    return 0;
}

static int frame_to_rgb(AVFrame *frame, int rotation, int max_w, int max_h, long long max_pixels,
                        int threads, media_rgb *out, char *err, size_t errlen)
{
    bool swap = rotation == 90 || rotation == 270;
    int w = swap ? frame->height : frame->width, h = swap ? frame->width : frame->height;
    int tw = w, th = h;
    if (max_w > 0)
        fit_box(w, h, max_w, max_h, &tw, &th);
    if (max_pixels > 0)
        media_fit_pixels(tw, th, max_pixels, &tw, &th);
    char args[256], desc[256];
    snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=%d:time_base=1/1:pixel_aspect=1/1",
             frame->width, frame->height, frame->format);
    const char *rot = media_rotation_filter(rotation);
    snprintf(desc, sizeof desc, "%s%sscale=w=%d:h=%d:flags=bicubic,format=rgb24", rot, *rot ? "," : "", tw, th);
    AVFilterGraph *graph = NULL;
    AVFilterContext *src = NULL, *sink = NULL;
    AVFrame *rgb = av_frame_alloc();
    int rc = -1;
    if (rgb && media_graph_build(&graph, &src, &sink, threads, "buffer", args, "buffersink", desc, err, errlen) == 0) {
        frame->pts = 0;
        int r = av_buffersrc_add_frame(src, frame);
        if (r >= 0)
            r = av_buffersrc_add_frame(src, NULL);
        if (r >= 0)
            r = av_buffersink_get_frame(sink, rgb);
        if (r < 0) {
            media_averr(err, errlen, r, "converting the picture failed");
        } else {
            out->width = rgb->width;
            out->height = rgb->height;
            out->stride = rgb->width * 3;
            out->data = malloc((size_t)out->stride * (size_t)out->height);
            if (!out->data) {
                snprintf(err, errlen, "out of memory for a %dx%d picture", out->width, out->height);
            } else {
                for (int y = 0; y < out->height; y++)
                    memcpy(out->data + (size_t)y * out->stride, rgb->data[0] + (size_t)y * rgb->linesize[0],
                           (size_t)out->stride);
                rc = 0;
            }
        }
    }
    av_frame_free(&rgb);
    avfilter_graph_free(&graph);
    return rc;
}

int media_first_frame(const char *in, int max_w, int max_h, long long max_pixels, int threads,
                      media_rgb *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    AVFormatContext *ic = NULL;
    AVCodecContext *dec = NULL;
    AVFrame *frame = av_frame_alloc();
    int rc = media_open_input(&ic, in);
    if (rc >= 0)
        rc = avformat_find_stream_info(ic, NULL);
    if (rc < 0) {
        media_averr(err, errlen, rc, "cannot read the input");
        goto done;
    }
    int idx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (idx < 0) {
        snprintf(err, errlen, "no picture in the file (no video stream or cover art)");
        rc = -1;
        goto done;
    }
    const AVStream *st = ic->streams[idx];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    dec = codec ? avcodec_alloc_context3(codec) : NULL;
    if (!dec || !frame || avcodec_parameters_to_context(dec, st->codecpar) < 0) {
        snprintf(err, errlen, "no decoder for codec '%s'", avcodec_get_name(st->codecpar->codec_id));
        rc = -1;
        goto done;
    }
    dec->thread_count = threads;
    dec->pkt_timebase = st->time_base;
    rc = avcodec_open2(dec, codec, NULL);
    if (rc < 0) {
        media_averr(err, errlen, rc, "cannot open the decoder");
        goto done;
    }
    rc = decode_first(ic, idx, dec, frame, err, errlen);
    if (rc == 0) {
        rc = frame_to_rgb(frame, media_stream_rotation(st), max_w, max_h, max_pixels, threads, out, err, errlen);
    }
done:
    av_frame_free(&frame);
    avcodec_free_context(&dec);
    avformat_close_input(&ic);
    return rc < 0 ? -1 : 0;
}

int media_encode_image(const media_rgb *img, const char *encoder, AVPacket *pkt, char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
    AVCodecContext *enc = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *f = av_frame_alloc();
    int rc = -1;
    if (!enc || !f) {
        snprintf(err, errlen, "no %s encoder in this FFmpeg build, or out of memory", encoder);
        goto done;
    }
    enc->width = img->width;
    enc->height = img->height;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, 25};
    int r = avcodec_open2(enc, codec, NULL);
    if (r < 0) {
        media_averr(err, errlen, r, "cannot open the image encoder");
        goto done;
    }
    f->width = img->width;
    f->height = img->height;
    f->format = enc->pix_fmt;
    f->data[0] = img->data;
    f->linesize[0] = img->stride;
    f->pts = 0;
    r = avcodec_send_frame(enc, f);
    if (r >= 0)
        r = avcodec_send_frame(enc, NULL);
    if (r >= 0)
        r = avcodec_receive_packet(enc, pkt);
    if (r < 0)
        media_averr(err, errlen, r, "image encoding failed");
    else
        rc = 0;
done:
    av_frame_free(&f);
    avcodec_free_context(&enc);
    return rc;
}

/* PNG: the encoder's one packet is the whole file. */
int media_write_png(const media_rgb *img, const char *path, char *err, size_t errlen)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = media_encode_image(img, "png", pkt, err, errlen);
    if (rc == 0) {
        FILE *fp = fopen(path, "wb");
        if (!fp || fwrite(pkt->data, 1, (size_t)pkt->size, fp) != (size_t)pkt->size)
            rc = -1;
        if (fp && fclose(fp) != 0)
            rc = -1;
        if (rc < 0)
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    }
    av_packet_free(&pkt);
    return rc;
}
