/* media_audio.c -- audio to MP3 the way Mastodon runs ffmpeg for its audio
 * `original` style: LAME VBR quality 2 (-q:a 2), tags and cover art kept. */
#include "media.h"
#include "media_internal.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct at {
    AVFormatContext *ic, *oc;
    AVCodecContext *dec, *enc;
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    AVStream *ost;
    AVFrame *frame, *filt;
    AVPacket *pkt;
    int idx;
    double duration;
    int last_pct;
    const media_video_opts *o;
    char *err;
    size_t errlen;
} at;

static int at_encode(at *t, AVFrame *f)
{
    return media_encode_write(t->enc, f, t->pkt, t->oc, t->ost, "MP3 encoding failed", "MP3 encoding failed",
                              t->err, t->errlen);
}

static int at_filter(at *t, AVFrame *f)
{
    int rc = av_buffersrc_add_frame_flags(t->src, f, AV_BUFFERSRC_FLAG_KEEP_REF);
    while (rc >= 0) {
        rc = av_buffersink_get_frame(t->sink, t->filt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            break;
        t->filt->pts = av_rescale_q(t->filt->pts, av_buffersink_get_time_base(t->sink), t->enc->time_base);
        rc = at_encode(t, t->filt);
        av_frame_unref(t->filt);
        if (rc < 0)
            return -1;
    }
    media_averr(t->err, t->errlen, rc, "audio filtering failed");
    return -1;
}

static int at_decode(at *t, const AVPacket *pkt)
{
    /* Damaged packets are skipped like the ffmpeg CLI does. */
    int rc = avcodec_send_packet(t->dec, pkt);
    if (rc == AVERROR(ENOMEM)) {
        media_averr(t->err, t->errlen, rc, "audio decoding failed");
        return -1;
    }
    const AVStream *st = t->ic->streams[t->idx];
    for (;;) {
        rc = avcodec_receive_frame(t->dec, t->frame);
        if (rc == AVERROR(ENOMEM)) {
            media_averr(t->err, t->errlen, rc, "audio decoding failed");
            return -1;
        }
        if (rc < 0)
            return 0;
        t->frame->pts = t->frame->best_effort_timestamp;
        if (t->o->progress && t->duration > 0 && t->frame->pts != AV_NOPTS_VALUE) {
            int pct = (int)(t->frame->pts * av_q2d(st->time_base) / t->duration * 100);
            if (pct > t->last_pct && pct < 100) {
                t->last_pct = pct;
                t->o->progress(t->o->progress_ud, pct);
            }
        }
        rc = at_filter(t, t->frame);
        av_frame_unref(t->frame);
        if (rc < 0)
            return -1;
    }
}

static int at_setup(at *t, const char *in, const char *out)
{
    int rc = media_open_input(&t->ic, in);
    if (rc >= 0)
        rc = avformat_find_stream_info(t->ic, NULL);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot read the input");
        return -1;
    }
    t->idx = av_find_best_stream(t->ic, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (t->idx < 0) {
        snprintf(t->err, t->errlen, "no audio stream");
        return -1;
    }
    const AVStream *st = t->ic->streams[t->idx];
    const AVCodec *dcodec = avcodec_find_decoder(st->codecpar->codec_id);
    const AVCodec *ecodec = avcodec_find_encoder_by_name("libmp3lame");
    if (!dcodec || !ecodec) {
        snprintf(t->err, t->errlen, "%s", dcodec ? "no MP3 (LAME) encoder in this FFmpeg build" : "no decoder for the audio codec");
        return -1;
    }
    t->dec = avcodec_alloc_context3(dcodec);
    t->enc = avcodec_alloc_context3(ecodec);
    if (!t->dec || !t->enc || avcodec_parameters_to_context(t->dec, st->codecpar) < 0) {
        snprintf(t->err, t->errlen, "out of memory");
        return -1;
    }
    t->dec->pkt_timebase = st->time_base;
    t->dec->thread_count = t->o->threads;
    rc = avcodec_open2(t->dec, dcodec, NULL);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot open the audio decoder");
        return -1;
    }
    int best = media_best_sample_rate(ecodec, t->dec->sample_rate);
    t->enc->sample_rate = best ? best : 44100;
    av_channel_layout_default(&t->enc->ch_layout, t->dec->ch_layout.nb_channels >= 2 ? 2 : 1);
    t->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    t->enc->time_base = (AVRational){1, t->enc->sample_rate};
    t->enc->flags |= AV_CODEC_FLAG_QSCALE;
    t->enc->global_quality = 2 * FF_QP2LAMBDA;
    t->enc->thread_count = t->o->threads;
    rc = avcodec_open2(t->enc, ecodec, NULL);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot open the MP3 encoder");
        return -1;
    }
    if (media_audio_graph(&t->graph, &t->src, &t->sink, t->o->threads, t->dec, st, t->enc, t->err, t->errlen) < 0)
        return -1;
    rc = avformat_alloc_output_context2(&t->oc, NULL, "mp3", out);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot set up the MP3 muxer");
        return -1;
    }
    t->ost = media_new_encoded_stream(t->oc, t->enc);
    if (!t->ost) {
        snprintf(t->err, t->errlen, "cannot add the MP3 stream");
        return -1;
    }
    /* The ffmpeg CLI keeps the input's tags in the MP3 (Mastodon passes no -map_metadata). */
    av_dict_copy(&t->oc->metadata, t->ic->metadata, 0);
    return 0;
}

/* Cover art goes back into the MP3 as a PNG attached picture, as the ffmpeg CLI
 * does when it maps the input's picture stream to the mp3 muxer's default codec. */
static int at_add_cover(at *t, const char *in, AVPacket *cover)
{
    media_rgb img;
    if (media_first_frame(in, 0, 0, 0, t->o->threads, &img, t->err, t->errlen) < 0)
        return -1;
    int rc = media_encode_image(&img, "png", cover, t->err, t->errlen);
    AVStream *st = rc == 0 ? avformat_new_stream(t->oc, NULL) : NULL;
    if (rc == 0 && !st) {
        snprintf(t->err, t->errlen, "cannot add the cover picture to the MP3");
        rc = -1;
    }
    if (st) {
        st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
        st->codecpar->codec_id = AV_CODEC_ID_PNG;
        st->codecpar->width = img.width;
        st->codecpar->height = img.height;
        st->disposition = AV_DISPOSITION_ATTACHED_PIC;
        st->time_base = (AVRational){1, 90000};
        cover->stream_index = st->index;
        cover->pts = cover->dts = 0;
    }
    media_rgb_free(&img);
    return rc;
}

static int at_write_header(at *t, const char *out, AVPacket *cover)
{
    int rc = avio_open(&t->oc->pb, out, AVIO_FLAG_WRITE);
    if (rc >= 0)
        rc = avformat_write_header(t->oc, NULL);
    if (rc >= 0 && cover->size > 0)
        rc = av_interleaved_write_frame(t->oc, cover);
    if (rc < 0) {
        media_averr(t->err, t->errlen, rc, "cannot write the MP3 file");
        return -1;
    }
    return 0;
}

int media_audio_process(const char *in, const char *out, const media_probe *p,
                        const media_video_opts *o, char *err, size_t errlen)
{
    at t;
    memset(&t, 0, sizeof t);
    t.o = o;
    t.err = err;
    t.errlen = errlen;
    t.duration = p->duration;
    t.frame = av_frame_alloc();
    t.filt = av_frame_alloc();
    t.pkt = av_packet_alloc();
    AVPacket *in_pkt = av_packet_alloc();
    int rc = -1;
    if (!t.frame || !t.filt || !t.pkt || !in_pkt)
        snprintf(err, errlen, "out of memory");
    else
        rc = at_setup(&t, in, out);
    AVPacket *cover = av_packet_alloc();
    if (rc == 0 && !cover)
        rc = -1;
    if (rc == 0 && p->cover_art)
        rc = at_add_cover(&t, in, cover);
    if (rc == 0)
        rc = at_write_header(&t, out, cover);
    av_packet_free(&cover);
    while (rc == 0) {
        int r = media_read_packet(t.ic, in_pkt, err, errlen);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (in_pkt->stream_index == t.idx)
            rc = at_decode(&t, in_pkt);
        av_packet_unref(in_pkt);
    }
    if (rc == 0 && (at_decode(&t, NULL) < 0 || at_filter(&t, NULL) < 0 || at_encode(&t, NULL) < 0))
        rc = -1;
    if (rc == 0) {
        int r = av_write_trailer(t.oc);
        if (r < 0) {
            media_averr(err, errlen, r, "finishing the MP3 failed");
            rc = -1;
        }
    }
    if (rc == 0 && o->progress)
        o->progress(o->progress_ud, 100);
    if (t.oc) {
        avio_closep(&t.oc->pb);
        avformat_free_context(t.oc);
    }
    avfilter_graph_free(&t.graph);
    avcodec_free_context(&t.dec);
    avcodec_free_context(&t.enc);
    avformat_close_input(&t.ic);
    av_frame_free(&t.frame);
    av_frame_free(&t.filt);
    av_packet_free(&t.pkt);
    av_packet_free(&in_pkt);
    return rc;
}
